"""Deployment: ONNX export of backbones and whole models (onnx.py)."""
