"""Protobuf code generated from proto/smart_routing/v1/worker.proto (scripts/gen_proto.py); do not edit."""
