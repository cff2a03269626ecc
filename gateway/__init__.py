"""The HTTP gateway. Nameko (imported for its RPC client) imports eventlet, whose
deprecation notice says nothing actionable here."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
