# Instance segmentation end to end (Mask R-CNN, Cascade Mask R-CNN) for ONNX Runtime at any
# input size: the detection outputs plus masks (N, K, 28, 28), each the mask head's map inside
# its box (mmdeploy's model wrapper pastes it into the image, as mmdet does).
_base_ = ['./detection_onnxruntime_dynamic.py']
onnx_config = dict(
    output_names=['dets', 'labels', 'masks'],
    dynamic_axes={
        'input': {0: 'batch', 2: 'height', 3: 'width'},
        'dets': {0: 'batch', 1: 'num_dets'},
        'labels': {0: 'batch', 1: 'num_dets'},
        'masks': {0: 'batch', 1: 'num_dets', 2: 'height', 3: 'width'},
    })
codebase_config = dict(export_postprocess_mask=False)
