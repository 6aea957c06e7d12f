"""Adaptation policies: every tunable number of a call, as data, and the adaptation they drive.

A :class:`Policy` bundles the estimator's constants (:class:`mediaopt.bwe.GccConfig`), the
adaptation's (:class:`AdaptationConfig`: ladder, degradation preference, hysteresis,
protection, keyframes) and the clinical profile it is judged against
(:class:`ClinicalProfile`: service tier, frame-delay ceiling, frame-rate and resolution
floors). Policies load from and save to TOML; equality is by value; every error names the
offending key. Built-ins: ``gcc`` (libwebrtc's defaults), ``consult``, ``surgical`` and
``followup``; ``docs/tuning.md`` explains each number.

The room's modules: ``model`` (the dataclasses and their checks), ``toml`` (writing),
``store`` (built-in names, files and text), ``adaptation`` (the degradation path a policy
gives and :class:`Adaptation`, which walks it).
"""

from mediaopt.policies.adaptation import (
    Adaptation,
    EncoderSettings,
    build_core,
    degradation_path,
    ladder_limits,
)
from mediaopt.policies.model import (
    DEGRADATIONS,
    LIBWEBRTC_BALANCED_MIN_FPS,
    LIBWEBRTC_START_CAPS,
    LIBWEBRTC_VP8_LADDER,
    POLICY_TABLES,
    PROTECTIONS,
    TIER_AVAILABILITY,
    AdaptationConfig,
    ClinicalProfile,
    Policy,
    diff,
    flatten,
    floor_capacity_kbps,
    profile_ladder,
    with_profile_ladder,
)
from mediaopt.policies.store import MAX_OVERLAY_DEPTH, load, loads, names, overlay_toml, resolve
from mediaopt.policies.toml import dumps

__all__ = [
    "DEGRADATIONS",
    "LIBWEBRTC_BALANCED_MIN_FPS",
    "LIBWEBRTC_START_CAPS",
    "LIBWEBRTC_VP8_LADDER",
    "MAX_OVERLAY_DEPTH",
    "POLICY_TABLES",
    "PROTECTIONS",
    "TIER_AVAILABILITY",
    "Adaptation",
    "AdaptationConfig",
    "ClinicalProfile",
    "EncoderSettings",
    "Policy",
    "build_core",
    "degradation_path",
    "diff",
    "dumps",
    "flatten",
    "floor_capacity_kbps",
    "ladder_limits",
    "load",
    "loads",
    "names",
    "overlay_toml",
    "profile_ladder",
    "resolve",
    "with_profile_ladder",
]
