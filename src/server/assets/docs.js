// Renders /openapi.json: operations by tag, their parameters, bodies and responses, and
// the component schemas. No dependencies.
"use strict";

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function refName(ref) {
  return ref.split("/").pop();
}

// A compact, readable type for a JSON schema.
function typeOf(schema) {
  if (!schema) return "any";
  if (schema.$ref) return refName(schema.$ref);
  if (schema.oneOf) return schema.oneOf.map(typeOf).join(" | ");
  if (schema.anyOf) return schema.anyOf.map(typeOf).join(" | ");
  if (schema.allOf) return schema.allOf.map(typeOf).join(" & ");
  const types = [].concat(schema.type || "any");
  return types.map((t) => {
    if (t === "array") return `${typeOf(schema.items)}[]`;
    if (t === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object") {
      return `{[key]: ${typeOf(schema.additionalProperties)}}`;
    }
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    return t;
  }).join(" | ");
}

function schemaBlock(schema) {
  if (!schema) return el("span", "");
  if (schema.$ref) {
    const a = el("a", refName(schema.$ref));
    a.href = `#schema-${refName(schema.$ref)}`;
    return a;
  }
  return el("code", typeOf(schema));
}

function contentList(content) {
  const ul = el("ul");
  for (const [type, media] of Object.entries(content || {})) {
    const li = el("li");
    li.append(el("code", type), " ", schemaBlock(media.schema));
    ul.appendChild(li);
  }
  return ul;
}

function operation(path, method, op) {
  const details = el("details", null, "op");
  const summary = el("summary");
  summary.append(el("span", method, `method ${method}`), el("code", path), " ", el("span", op.summary || "", "muted"));
  details.appendChild(summary);
  const body = el("div", null, "body");
  if (op.description) body.appendChild(el("p", op.description));
  if (op.parameters && op.parameters.length) {
    body.appendChild(el("h3", "Parameters"));
    const ul = el("ul");
    for (const p of op.parameters) {
      const li = el("li");
      li.append(el("code", p.name), ` (${p.in}${p.required ? ", required" : ""}) `, schemaBlock(p.schema), " ", p.description || "");
      ul.appendChild(li);
    }
    body.appendChild(ul);
  }
  if (op.requestBody) {
    body.appendChild(el("h3", "Request body"));
    if (op.requestBody.description) body.appendChild(el("p", op.requestBody.description));
    body.appendChild(contentList(op.requestBody.content));
  }
  body.appendChild(el("h3", "Responses"));
  const ul = el("ul");
  for (const [status, response] of Object.entries(op.responses || {})) {
    const li = el("li");
    li.append(el("strong", status), " ", response.description || "");
    if (response.content) li.appendChild(contentList(response.content));
    ul.appendChild(li);
  }
  body.appendChild(ul);
  details.appendChild(body);
  return details;
}

function schemaSection(name, schema) {
  const section = el("details", null, "op");
  section.id = `schema-${name}`;
  section.appendChild(el("summary", name));
  const body = el("div", null, "body");
  if (schema.description) body.appendChild(el("p", schema.description));
  if (schema.properties) {
    const ul = el("ul");
    const required = new Set(schema.required || []);
    for (const [prop, sub] of Object.entries(schema.properties)) {
      const li = el("li");
      li.append(el("code", prop), required.has(prop) ? "" : " (optional)", ": ", schemaBlock(sub), " ", sub.description || "");
      ul.appendChild(li);
    }
    body.appendChild(ul);
  } else {
    body.appendChild(el("pre", JSON.stringify(schema, null, 2)));
  }
  section.appendChild(body);
  return section;
}

async function main() {
  const ops = document.getElementById("ops");
  try {
    const response = await fetch("/openapi.json");
    const doc = await response.json();
    document.getElementById("title").textContent = doc.info.title;
    document.getElementById("version").textContent = `v${doc.info.version} · OpenAPI ${doc.openapi}`;
    document.getElementById("description").textContent = doc.info.description || "";
    const byTag = new Map();
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const tag = (op.tags && op.tags[0]) || "other";
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(path, method, op));
      }
    }
    ops.replaceChildren();
    for (const [tag, nodes] of byTag) {
      ops.appendChild(el("h2", tag));
      ops.append(...nodes);
    }
    const schemas = document.getElementById("schemas");
    for (const [name, schema] of Object.entries((doc.components && doc.components.schemas) || {})) {
      schemas.appendChild(schemaSection(name, schema));
    }
  } catch (error) {
    ops.textContent = `cannot load /openapi.json: ${error.message}`;
  }
}

main();
