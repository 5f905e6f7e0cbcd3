"""The peers the benchmark compares mmtwins with, holding mmtwins' weights: mmseg's PCPVT/SVT
and timm's Twins (where timm imports), and the check that they compute the same."""
import torch

from ..cli.backbone import ARCHS as VARIANTS


def timm_available():
    try:
        import timm  # noqa: F401
    except Exception:  # ImportError, or a torchvision that does not match torch
        return False
    return True


#: the implementation each peer is timed and checked against: timm's Twins (the classifier's)
#: has no stage norms, so its column compares it with mmtwins built the same way
REFERENCE = {'mmseg': 'mmtwins', 'timm': 'mmtwins~timm'}


def like_timm(ours):
    """mmtwins' backbone as timm's network: the same variant and weights, without the
    per-stage LayerNorms (timm's Twins norms no stage map, and each stage takes the previous
    one's un-normed map), so that timm's column times the same network."""
    twin = type(ours)(arch=ours.arch_name, norm_after_stage=False, with_cp=ours.with_cp,
                      attn_impl=ours.attn_impl, norm_eps=ours.norm_eps)
    keep = twin.state_dict()
    twin.load_state_dict({k: v for k, v in ours.state_dict().items() if k in keep})
    return twin.to(next(ours.parameters()).device)


def build_timm(variant, twin, device):
    """timm's Twins of the same variant with the weights of ``twin`` (mmtwins' backbone built
    by :func:`like_timm`); its forward returns the four stage maps (un-normed, as timm
    computes them)."""
    import timm

    from mmtwins.checkpoint import rename_key
    from mmtwins.variants import VARIANTS as INFO
    model = timm.create_model(INFO[variant].timm, pretrained=False, num_classes=0)
    ours_sd = twin.state_dict()
    # ours' weights under timm's names (timm's layout is the official one)
    theirs_sd, unmapped = {}, []
    for key, value in model.state_dict().items():
        name = rename_key(key, 'official')
        if name in ours_sd:
            theirs_sd[key] = ours_sd[name]
        elif key.startswith('norm.'):  # the classifier's final norm: not in the stage maps
            theirs_sd[key] = value
        else:
            unmapped.append(key)
    if unmapped:
        raise RuntimeError(f'timm {INFO[variant].timm}: {len(unmapped)} tensor(s) have no '
                           f'counterpart in mmtwins ({unmapped[:4]}): the two would not hold '
                           f'the same weights')
    model.load_state_dict(theirs_sd)

    class Maps(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net.forward_intermediates(x, intermediates_only=True)
    return Maps(model).to(device)


def build_pair(variant, device, with_cp=False, need_mmseg=True):
    """mmtwins' backbone and mmseg's, same architecture, same (random) weights."""
    import mmtwins.models as mm
    from mmtwins.checkpoint import check_state_dict, to_mmtwins
    cls_name, arch = VARIANTS[variant]
    ours = getattr(mm, cls_name)(arch=arch, with_cp=with_cp)
    ours.init_weights()
    theirs = None
    if need_mmseg:
        from mmseg.models.backbones import PCPVT, SVT
        a = ours.arch_settings
        kwargs = dict(embed_dims=a['embed_dims'], depths=a['depths'], num_heads=a['num_heads'],
                      mlp_ratios=a['mlp_ratios'], sr_ratios=a['sr_ratios'],
                      patch_sizes=[4, 2, 2, 2], strides=[4, 2, 2, 2], qkv_bias=True,
                      drop_path_rate=0.0)
        if cls_name == 'TwinsSVT':
            theirs = SVT(windiow_sizes=a['window_sizes'], norm_after_stage=True, **kwargs)
        else:
            theirs = PCPVT(norm_after_stage=False, **kwargs)
        theirs.init_weights()
        converted = to_mmtwins(theirs.state_dict(), fmt='mmseg')['state_dict']
        ours.load_state_dict(check_state_dict(ours, converted)['matched'])
        theirs.to(device)
    return ours.to(device), theirs


def check_same_weights(models, device, tol=1e-3):
    """Run every implementation on one 224x224 image (no window padding anywhere) before
    timing: each peer's four stage maps must equal those of its mmtwins reference
    (:data:`REFERENCE`) to ``tol`` of the largest value, so that the rows time the same
    network with the same weights. Returns ``{peer: diff}``."""
    x = torch.randn(1, 3, 224, 224, device=device)
    with torch.no_grad():
        wanted, diffs = {}, {}
        for name, model in models.items():
            if name.startswith('mmtwins') or model is None:
                continue
            ref = REFERENCE.get(name, 'mmtwins')
            if ref not in wanted:
                wanted[ref] = [o.float() for o in models[ref].eval()(x)]
            want = wanted[ref]
            got = [o.float() for o in model.eval()(x)]
            diffs[name] = max(float((g - w).abs().max() / w.abs().max())
                              for g, w in zip(got, want))
    wrong = {n: d for n, d in diffs.items() if not d <= tol}
    if wrong:
        raise RuntimeError(f'the implementations do not compute the same: largest difference '
                           f'relative to the largest output {wrong} (> {tol}); the timings would '
                           f'compare different networks')
    return diffs


def build_impl(impl, variant, device):
    """One benchmarked backbone: 'mmtwins', 'mmtwins+cp' (with_cp), 'mmtwins~timm'
    (:func:`like_timm`), 'mmseg' or 'timm'."""
    ours, theirs = build_pair(variant, device, with_cp=impl == 'mmtwins+cp',
                              need_mmseg=impl == 'mmseg')
    if impl == 'mmseg':
        return theirs
    if impl == 'timm':
        return build_timm(variant, like_timm(ours), device)
    if impl == 'mmtwins~timm':
        return like_timm(ours)
    return ours
