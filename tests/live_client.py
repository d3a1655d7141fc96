"""A page of the live app without a browser: its callbacks called through Dash's own HTTP API."""

from __future__ import annotations

from typing import Any

from analysis.live import Settings, create_app

__all__ = ["Page"]


class Page:
    """Calls the app's callbacks the way the browser does, keeping the page's state."""

    def __init__(self, settings: Settings) -> None:
        self.app = create_app(settings)
        self.client = self.app.server.test_client()
        layout = self.client.get("/_dash-layout").get_json()
        self.values: dict[str, Any] = {}
        self._collect(layout)
        self.callbacks = self.client.get("/_dash-dependencies").get_json()

    def _collect(self, node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if "id" in props and isinstance(props["id"], str):
                for prop, value in props.items():
                    self.values[f"{props['id']}.{prop}"] = value
            for value in props.values():
                self._collect(value)
        elif isinstance(node, list):
            for item in node:
                self._collect(item)

    def _spec(self, item: dict[str, Any]) -> Any:
        key = f"{item['id']}.{item['property']}"
        return {"id": item["id"], "property": item["property"], "value": self.values.get(key)}

    def fire(self, output_prefix: str, changed: str | None, value: Any = None) -> dict[str, Any]:
        """Set ``changed`` (``id.prop``) to ``value`` and run the callback whose output starts with the prefix.

        With ``changed`` None, the callback runs as when the page loads.
        """
        if changed is not None:
            self.values[changed] = value
        (cb,) = [c for c in self.callbacks if c["output"].lstrip(".").startswith(output_prefix)]
        outputs = []
        for out in cb["output"].strip(".").split("..."):
            ident, prop = out.rsplit(".", 1)  # a duplicate output keeps its "@hash", as the page sends it
            outputs.append({"id": ident, "property": prop})
        body = {
            "output": cb["output"],
            "outputs": outputs if cb["output"].startswith("..") else outputs[0],
            "inputs": [self._spec(i) for i in cb["inputs"]],
            "state": [self._spec(s) for s in cb["state"]],
            "changedPropIds": [changed] if changed else [],
        }
        reply = self.post(body)
        assert reply.status_code in (200, 204), reply.data[:500]
        if reply.status_code == 204:
            return {}
        response = reply.get_json()["response"]
        for ident, props in response.items():
            for prop, value in props.items():
                self.values[f"{ident}.{prop}"] = value
        return response

    def body(self, output_prefix: str, changed: str | None = None) -> dict[str, Any]:
        """The request the page sends for the callback whose output starts with the prefix."""
        (cb,) = [c for c in self.callbacks if c["output"].lstrip(".").startswith(output_prefix)]
        outputs = []
        for out in cb["output"].strip(".").split("..."):
            ident, prop = out.rsplit(".", 1)  # a duplicate output keeps its "@hash", as the page sends it
            outputs.append({"id": ident, "property": prop})
        return {
            "output": cb["output"],
            "outputs": outputs if cb["output"].startswith("..") else outputs[0],
            "inputs": [self._spec(i) for i in cb["inputs"]],
            "state": [self._spec(s) for s in cb["state"]],
            "changedPropIds": [changed] if changed else [],
        }

    def post(self, body: Any) -> Any:
        """Send a callback request as the browser does; the raw reply."""
        return self.client.post("/_dash-update-component", json=body)

    def advance(self, trigger: str | None, value: Any = None) -> dict[str, Any]:
        return self.fire("network-0.figure", trigger, value)
