# Object detection end to end (RetinaNet, DINO, ...) for ONNX Runtime at any input size: NMS
# in the graph; outputs dets (N, K, 5) = x1, y1, x2, y2, score and labels (N, K), K <= 100.
_base_ = ['./_base_/onnxruntime.py']
onnx_config = dict(
    output_names=['dets', 'labels'],
    dynamic_axes={
        'input': {0: 'batch', 2: 'height', 3: 'width'},
        'dets': {0: 'batch', 1: 'num_dets'},
        'labels': {0: 'batch', 1: 'num_dets'},
    })
codebase_config = dict(
    type='mmdet',
    task='ObjectDetection',
    model_type='end2end',
    module={{_base_.mmtwins_support}},
    post_processing=dict(
        score_threshold=0.05,
        confidence_threshold=0.005,
        iou_threshold=0.5,
        max_output_boxes_per_class=200,
        pre_top_k=5000,
        keep_top_k=100,
        background_label_id=-1))
