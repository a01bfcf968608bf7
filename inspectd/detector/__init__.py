"""The detector core: pure arrays in, scores, maps and verdicts out (plus the bank store)."""

from inspectd.detector.bank import Bank, BankError, BankStore, load_bank
from inspectd.detector.detector import Detector, Inspection
from inspectd.detector.fit import fit_bank
from inspectd.detector.scoring import Region
from inspectd.detector.settings import AugmentationSet, DetectorSettings, EmbedderSettings

__all__ = ["AugmentationSet", "Bank", "BankError", "BankStore", "Detector", "DetectorSettings",
           "EmbedderSettings", "Inspection", "Region", "fit_bank", "load_bank"]
