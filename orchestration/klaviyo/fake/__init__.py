"""A local Klaviyo-compatible API for tests and demos (never used against the real service).

    from orchestration.klaviyo.fake import FakeAccount, FakeAccountConfig, create_app, ThreadedServer
    with ThreadedServer(create_app({"test-key": FakeAccount()})) as server:
        ...  # point the client at server.base_url with api key "test-key"

Command line: ``python -m orchestration.klaviyo.fake --port 8765 --key test-key``.
"""

from orchestration.klaviyo.fake.app import ENDPOINTS, FakeKlaviyo, create_app
from orchestration.klaviyo.fake.data import FakeAccount, FakeAccountConfig
from orchestration.klaviyo.fake.faults import Fault, FaultPlan
from orchestration.klaviyo.fake.server import ThreadedServer

__all__ = ["ENDPOINTS", "FakeAccount", "FakeAccountConfig", "FakeKlaviyo", "Fault", "FaultPlan",
           "ThreadedServer", "create_app"]
