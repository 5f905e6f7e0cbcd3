from .twins import TwinsBase, TwinsPCPVT, TwinsStage, TwinsSVT

__all__ = ['TwinsBase', 'TwinsPCPVT', 'TwinsSVT', 'TwinsStage']
