# mmdeploy's ONNX export for ONNX Runtime, shared by the deploy configs here (mmdeploy's config
# format; mmdeploy's wheel ships no configs of its own). Opset 17: LayerNorm as one op, and
# RoiAlign's half-pixel mode (mmdet's aligned RoIAlign). optimize needs mmdeploy's TorchScript
# extension, which the wheel lacks (it says so and exports unoptimised).
onnx_config = dict(
    type='onnx',
    export_params=True,
    keep_initializers_as_inputs=False,
    opset_version=17,
    save_file='end2end.onnx',
    input_names=['input'],
    output_names=['output'],
    input_shape=None,
    optimize=True)
backend_config = dict(type='onnxruntime')
# what a Twins model needs from mmdeploy 1.3.1 on torch 2.13, imported by mmdeploy before it
# builds the model (mmtwins/deployment/mmdeploy_support.py)
mmtwins_support = ['mmtwins.deployment.mmdeploy_support']
