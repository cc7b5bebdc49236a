"""Network faults through the Toxiproxy REST API, and the embedded Toxiproxy-compatible proxy."""

from brownout.faults.network.client import ToxiproxyAPI
from brownout.faults.network.declared import DeclaredProxyDriver
from brownout.faults.network.embedded import EmbeddedProxy, start_embedded_proxy
from brownout.faults.network.proxy_down import NetworkProxyDownDriver
from brownout.faults.network.toxic import NetworkToxicDriver

__all__ = ["DeclaredProxyDriver", "EmbeddedProxy", "NetworkProxyDownDriver", "NetworkToxicDriver", "ToxiproxyAPI", "start_embedded_proxy"]
