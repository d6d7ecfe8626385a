#!/usr/bin/env python3
"""Writes deploy/k8s/configmap.yaml from config/default.toml (run after changing that file;
tests/python/test_deploy.py checks the two are equal)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
config = (ROOT / "config" / "default.toml").read_text()
body = "\n".join(("    " + line) if line else "" for line in config.rstrip("\n").split("\n"))
(ROOT / "deploy" / "k8s" / "configmap.yaml").write_text(
    f"""# config/default.toml as a ConfigMap, written by scripts/gen_configmap.py.
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: smart-routing-config
  labels:
    app.kubernetes.io/name: smart-routing
data:
  config.toml: |
{body}
"""
)
