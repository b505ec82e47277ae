"""Deterministic demo data for the warehouse: campaigns, customers, orders + ground truth.

Public API: :func:`generate` (``generate(out_dir, DemoConfig(...)) -> Manifest``);
command line: ``python -m orchestration.demo --out landing``. See ``README.md`` here.
"""

from orchestration.demo.config import GENERATOR_VERSION, DemoConfig, FileInfo, Manifest, read_demo_config
from orchestration.demo.generate import generate

__all__ = ["GENERATOR_VERSION", "DemoConfig", "FileInfo", "Manifest", "generate", "read_demo_config"]
