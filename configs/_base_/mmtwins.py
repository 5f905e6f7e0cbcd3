# What every mmtwins config has, as a sibling base of the hosts' configs (which define no
# custom_imports or custom_hooks): mmtwins imported, which registers the Twins backbones for
# every scope and makes every checkpoint read safely (docs/guarantees.md), and
# CheckpointCompatibilityHook, which refuses a load_from/--resume/test checkpoint that does not
# fit the model and logs one line of what was loaded (class-count layers may differ when
# fine-tuning). And the Twins backbone that replaces the host's in every head config
# (model = dict(backbone=_base_.twins_backbone, ...)); each variant config sets type, arch and
# checkpoint.
custom_imports = dict(imports=['mmtwins'], allow_failed_imports=False)
custom_hooks = [dict(type='CheckpointCompatibilityHook')]
twins_backbone = dict(
    _delete_=True,
    type='mmtwins.TwinsPCPVT',
    arch='small',
    drop_path_rate=0.2,  # the official Twins detection and segmentation setting
    init_cfg=dict(type='Pretrained', checkpoint=None))
