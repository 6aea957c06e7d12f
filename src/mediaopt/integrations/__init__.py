"""Bridges between mediaopt and real-time stacks.

``mediaopt.integrations.aiortc`` equips an aiortc ``RTCPeerConnection`` (install the
``mediaopt[aiortc]`` extra). Nothing here is imported by ``import mediaopt``.
"""
