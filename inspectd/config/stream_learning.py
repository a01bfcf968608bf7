"""``products.<p>.stream_learning`` — learning the bank and threshold from the product's own frames (issue 24)."""

from __future__ import annotations

from dataclasses import dataclass

from inspectd.config.schema import setting


@dataclass(frozen=True)
class DriftConfig:
    enabled: bool = setting(True, doc="watch the score and brightness distribution; a drift pauses stream learning")
    reference_frames: int = setting(25, minimum=5, maximum=1000, doc="frames after each bank swap that form the "
                                    "reference")
    window: int = setting(20, minimum=5, maximum=1000, doc="recent frames compared with the reference")
    min_window: int = setting(10, minimum=3, maximum=1000, doc="frames in the window before the first test")
    alpha: float = setting(0.001, minimum=1e-12, maximum=0.5, doc="significance of one test (checked every frame)")

    def __post_init__(self) -> None:
        if self.min_window > self.window:
            raise ValueError(f"min_window ({self.min_window}) must not exceed window ({self.window})")


@dataclass(frozen=True)
class StreamLearningConfig:
    enabled: bool = setting(False, doc="fit candidate banks from recently inspected frames and serve those that pass "
                            "validation (docs/stream-learning.md)")
    sample_frames: int = setting(50, minimum=5, maximum=1000, doc="recent frames kept (at the bank's input size)")
    min_frames: int = setting(50, minimum=5, maximum=1000, doc="frames in the sample before the first candidate")
    refit_every: int = setting(200, minimum=1, doc="frames between candidates after the first")
    min_recurrence: int = setting(3, minimum=2, doc="distinct sample frames that must show a patch before it is "
                                  "admitted")
    recurrence_ratio: float = setting(0.7, minimum=0.05, maximum=1.0, doc="a frame shows a patch when it holds one "
                                      "nearer than this share of the patch's distance to the bank")
    defect_share: float = setting(0.05, minimum=0.0, maximum=0.5, doc="the largest share of defective parts the "
                                  "line is assumed to make; the threshold rule stays sound up to it")
    target_false_reject: float = setting(0.05, minimum=0.0, maximum=0.5, doc="share of good parts the learned "
                                         "threshold aims to reject")
    max_threshold_change: float = setting(1.5, minimum=1.0, doc="a candidate whose threshold moves by more than "
                                          "this factor either way is refused")
    max_admitted_share: float = setting(1.0, minimum=0.0, maximum=4.0, doc="admitted stream rows at most this share "
                                        "of the base bank's memory")
    max_threshold_rise: float = setting(1.0, minimum=1.0, maximum=2.0, doc="the learned threshold at most this "
                                        "factor of the goldens' (1.0: false rejects fall by separation only)")
    drift: DriftConfig = setting(default_factory=DriftConfig)

    def __post_init__(self) -> None:
        if self.min_frames > self.sample_frames:
            raise ValueError(f"min_frames ({self.min_frames}) must not exceed sample_frames ({self.sample_frames})")
