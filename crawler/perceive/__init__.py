"""Perception: what is on screen, as a Scene (see crawler.perceive.scene)."""

from crawler.perceive.classify import perceive

__all__ = ["perceive"]
