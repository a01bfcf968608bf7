"""Per-product detector settings. The defaults are the best configuration measured (docs/results.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class AugmentationSet:
    """Operators applied to each golden image to enlarge the bank (METHOD.md section 2).

    ``rotations`` is a count of equally spaced angles (8 -> 0, 45, ..., 315 degrees) or an explicit
    tuple of angles in degrees; the identity is always included.
    """

    # 24 (15 degree steps): a test patch is at most 7.5 degrees from a bank copy. Lite0 patch features
    # lose screw at the 22 degrees that 8 rotations leave; 16 -> 24 bought screw +0.10 (docs/results.md)
    rotations: int | tuple[float, ...] = 24
    hflip: bool = False
    vflip: bool = False
    shifts: tuple[int, ...] = ()  # pixel offsets at input size, applied along x and y
    scales: tuple[float, ...] = ()  # zoom factors about the image centre (1.05: the part 5 % larger)
    # brightness gains (pixel values scaled, clipped at 255): copies of the golden as if lit brighter or
    # darker, so glare and exposure drift among good parts are not taken for defects. +-0.38 stops bought
    # commutator +0.04 image AUROC at 1 and 4 shots (seeds 0-2); 1.2 and 1.5 did worse (docs/results.md)
    gains: tuple[float, ...] = (1.3, 0.77)

    def angles(self) -> tuple[float, ...]:
        if isinstance(self.rotations, int):
            count = max(self.rotations, 1)
            return tuple(360.0 * i / count for i in range(count))
        return tuple(dict.fromkeys((0.0, *map(float, self.rotations))))


@dataclass(frozen=True)
class EmbedderSettings:
    """The graph embedder of METHOD.md section 3 (max-relative aggregation over feature-space k-NN)."""

    enabled: bool = False  # measured: no accuracy gain on the shared categories, 4x latency
    k: int = 9
    relative_weight: float = 1.0


PRECISIONS = ("float32", "bfloat16")
WHOLE_FRAME = (0.0, 0.0, 1.0, 1.0)
SEARCHES = ("exact", "shortlist", "clustered", "ivf")
PART_OUTLINES = ("auto", "off")
POSES = ("auto", "off")
LAYOUTS = ("auto", "off")


def _is_roi(roi: object) -> bool:
    if not isinstance(roi, tuple) or len(roi) != 4 or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in roi):
        return False
    left, top, right, bottom = roi
    return 0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0


@dataclass(frozen=True)
class DetectorSettings:
    backbone: str = "efficientnet_lite0"
    weights_path: str | None = None  # required for torchvision backbones; None = packaged Lite0 weights
    input_size: int = 320  # 224 is ~3x faster, and worse on small defects (docs/results.md)
    # True: frames keep their aspect ratio at about input_size**2 pixels (features.input_shape); False: squashed
    # to input_size x input_size
    keep_aspect: bool = True
    augmentations: AugmentationSet = field(default_factory=AugmentationSet)
    embedder: EmbedderSettings = field(default_factory=EmbedderSettings)
    # float in (0, 1]: share of bank patches kept; int: absolute count. 1/15 of 24 copies keeps as many
    # patches as 10 % of 16 copies did: finer angles at the same search cost per frame.
    coreset: float | int = 1 / 15
    # each stage's patch vectors divided by their length to this power (features.compress_magnitude): 0 is
    # PatchCore's raw vectors, 1 unit length. 0.5 bought mean image AUROC +0.019 / +0.021 at 1 / 4 shots
    # (commutator +0.11 / +0.08, screw +0.01 / +0.02; seeds 0-2); unit length lost screw 0.15 @4 (docs/results.md)
    feature_norm_power: float = 0.5
    score_top_k: int = 1  # image score = mean of the k highest map values
    # region of interest (left, top, right, bottom) in shares of the frame's width and height: only what lies
    # inside is scored and shown (the map is 0 outside). For a product whose frame edges show fixture or
    # background that varies between good parts. Not narrowed by default: defects that reach the frame's edge
    # are common (commutator's cracks: a 1/16 margin cost its pixel AUROC 0.13; docs/experiments.md, "A margin left out
    # of the score")
    roi: tuple[float, float, float, float] = WHOLE_FRAME
    # "auto": where the goldens show a part on a background of its own colour, the map is 0 outside the part's
    # outline but on the region above the threshold that failed the frame (detector/part_outline.py; the verdict
    # never depends on it). "off": the whole frame's map. Bought pixel AUROC fryum +0.007-0.012, cookies
    # +0.002-0.003, mean +0.002-0.004 at 1-8 shots (docs/results.md, "The part's outline")
    part_outline: str = "auto"
    # "auto": where the goldens show a long, thin part on a background of its own colour, each frame is turned to
    # the part's long axis and cropped round it, and the bank holds the part near that pose (detector/pose.py;
    # the configured rotations and flips give way to pose.aligned_rotations: as far either side of the axis as refit
    # finds the axis estimate strays on the goldens).
    # "off": the whole frame at the configured copies (docs/results.md, "Turning each frame to its part")
    pose: str = "auto"
    # the structural check (detector/layout.py): each place of a frame against what the goldens show at that place,
    # so that a missing or misplaced feature scores. "auto": with three goldens or more of a part on a background of
    # its own colour, not turned to a long axis, where the goldens agree place by place at least as well as the bank
    # tells them apart; "off": never (docs/results.md, "The part's layout")
    layout: str = "auto"
    smoothing_sigma: float = 4.0  # Gaussian sigma of the anomaly map, in pixels at 224 (scaled with size)
    target_false_reject: float = 0.01
    seed: int = 0
    # Speed options, measured in docs/performance.md. precision "bfloat16": the backbone under bf16 autocast;
    # on this CPU (no AMX) barely faster than the float32 graph and it moves AUROC by up to 0.03: opt-in.
    # search "clustered": exact search of only the bank clusters that could hold the nearest row (2.5x the
    # shortlist's speed at the defaults, AUROC within 0.0014 of exact on the nine categories); "ivf": faiss's
    # inverted file, about twice as fast again but approximate (a score may rise: 3 of the 18 gate rows move by
    # 0.0022-0.0067); "shortlist": bf16 matmul shortlist re-ranked exactly in float32; "exact": faiss flat.
    precision: str = "float32"
    search: str = "clustered"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.search not in SEARCHES:
            raise ValueError(f"search must be one of {SEARCHES}, got {self.search!r}")
        if self.part_outline not in PART_OUTLINES:
            raise ValueError(f"part_outline must be one of {PART_OUTLINES}, got {self.part_outline!r}")
        if self.pose not in POSES:
            raise ValueError(f"pose must be one of {POSES}, got {self.pose!r}")
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not 0.0 <= self.feature_norm_power <= 1.0:
            raise ValueError(f"feature_norm_power must be in [0, 1], got {self.feature_norm_power!r}")
        if not _is_roi(self.roi):
            raise ValueError("roi must be [left, top, right, bottom], shares of the frame's width and height with "
                             f"0 <= left < right <= 1 and 0 <= top < bottom <= 1, got {self.roi!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    def with_overrides(self, overrides: dict) -> "DetectorSettings":
        """These settings with nested ``overrides`` applied (``{"augmentations": {"rotations": 1}}``);
        ValueError naming the dotted key on an unknown one."""
        data = self.to_dict()
        _merge(data, overrides, "")
        return DetectorSettings.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> "DetectorSettings":
        data = dict(data)
        aug = dict(data.pop("augmentations", {}))
        if isinstance(aug.get("rotations"), list):
            aug["rotations"] = tuple(aug["rotations"])
        aug["shifts"] = tuple(aug.get("shifts", ()))
        aug["scales"] = tuple(aug.get("scales", ()))
        aug["gains"] = tuple(aug.get("gains", ()))
        if isinstance(data.get("roi"), list):
            data["roi"] = tuple(data["roi"])
        return cls(augmentations=AugmentationSet(**aug),
                   embedder=EmbedderSettings(**data.pop("embedder", {})), **data)


    def map_sigma(self) -> float:
        return self.smoothing_sigma * self.input_size / 224.0


NO_AUGMENTATION = AugmentationSet(rotations=1, gains=())  # the image alone
PLAIN_PATCHCORE = DetectorSettings(augmentations=NO_AUGMENTATION, feature_norm_power=0.0,
                                   embedder=EmbedderSettings(enabled=False), part_outline="off", pose="off",
                                   layout="off")


def _merge(into: dict, overrides: dict, prefix: str) -> None:
    for key, value in overrides.items():
        name = f"{prefix}{key}"
        if key not in into:
            raise ValueError(f"unknown detector setting {name!r}; known here: {sorted(into)}")
        if isinstance(into[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"detector setting {name!r} is a section: expected a mapping, got {value!r}")
            _merge(into[key], value, f"{name}.")
        else:
            into[key] = value
