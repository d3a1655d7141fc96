"""What the live app accepts from a browser: only what its page can send.

A page served by the live app sends callback requests whose shape the app
knows (which callback, which inputs and states, in which order) and whose
values come from its own controls: a scenario from the list it offers, a
slider's number in the slider's range, a firm's name, a session id the server
made. A request that could not come from the page (a path as scenario, a list
as session id, a callback that does not exist) is a malformed request and gets
a ``400 Bad Request`` naming what was wrong, before any of the app's code
runs; a value the page can send but the model cannot take (an emptied seed
box) gets a message on the page. Neither reaches a file, a model or the log
as a traceback.

- :func:`check_request`: the request's shape against the app's callbacks.
- :class:`BadInput` and the value checks used inside the callbacks.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from werkzeug.exceptions import BadRequest

__all__ = [
    "MAX_BODY",
    "MAX_NAME",
    "BadInput",
    "check_request",
    "choice",
    "choices",
    "clicks",
    "firm_name",
    "session_id",
]

#: Largest callback request accepted, in bytes (the page's largest is a few kB).
MAX_BODY = 256 * 1024

#: Longest firm name accepted from the page (names in the scenarios are far shorter).
MAX_NAME = 200

_SESSION_ID = re.compile(r"[0-9a-f]{32}")


class BadInput(BadRequest):
    """A value the page cannot have sent: answered with ``400 Bad Request`` and this description.

    Parameters
    ----------
    what : str
        The input (``"scenario"``, ``"session id"``...).
    value : object
        What was sent (shortened in the message).
    allowed : str
        What the page sends there.
    """

    def __init__(self, what: str, value: Any, allowed: str) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        super().__init__(f"live app: {what} = {shown}: {allowed}")


def session_id(value: Any) -> str:
    """The session id a page carries: 32 hexadecimal digits, as the server makes them.

    Raises
    ------
    BadInput
        For anything else.
    """
    if not isinstance(value, str) or not _SESSION_ID.fullmatch(value):
        raise BadInput("session id", value, "must be the id the server gave the page (32 hexadecimal digits)")
    return value


def choice(what: str, value: Any, allowed: Collection[str]) -> str:
    """One of the options a dropdown or radio list offers.

    Raises
    ------
    BadInput
        If ``value`` is not a string among ``allowed``.
    """
    if not isinstance(value, str) or value not in allowed:
        raise BadInput(what, value, f"must be one of {', '.join(sorted(allowed))}")
    return value


def choices(what: str, value: Any, allowed: Collection[str]) -> list[str]:
    """The ticked options of a checklist (``None`` for none).

    Raises
    ------
    BadInput
        If ``value`` is not a list of strings among ``allowed``.
    """
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
        raise BadInput(what, value, f"must be a list of some of {', '.join(sorted(allowed))}")
    return list(value)


def clicks(what: str, value: Any) -> int:
    """A button's click count or an interval's tick count (``None`` before the first).

    Raises
    ------
    BadInput
        If ``value`` is not ``None`` or a whole number from 0.
    """
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadInput(what, value, "must be a count of clicks (a whole number from 0)")
    return value


def box_sizes(what: str, value: Any) -> dict[str, tuple[float, float]]:
    """The sizes of the page's boxes in pixels, as the page reports them: ``{"network": [w, h], "running": [w, h]}``.

    ``None`` (not reported yet) gives an empty dict.

    Raises
    ------
    BadInput
        If ``value`` is anything else, or a size is not a number from 1 to 20000.
    """
    if value is None:
        return {}
    allowed = "must be {'network': [width, height], 'running': [width, height]} in pixels from 1 to 20000"
    if not isinstance(value, dict) or set(value) != {"network", "running"}:
        raise BadInput(what, value, allowed)
    out = {}
    for key, size in value.items():
        if not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) and 1 <= v <= 20000 for v in size)
        ):
            raise BadInput(what, value, allowed)
        out[key] = (float(size[0]), float(size[1]))
    return out


def firm_name(what: str, value: Any) -> str | None:
    """A firm picked in a dropdown (``None`` or ``""`` for none picked).

    Raises
    ------
    BadInput
        If ``value`` is not a string of printable characters of at most :data:`MAX_NAME`.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_NAME or not value.isprintable():
        raise BadInput(what, value, f"must be a firm's name (printable, at most {MAX_NAME} characters)")
    return value


def _spec_ok(sent: Any, declared: Mapping[str, Any]) -> bool:
    """Whether one input or state of a request names the declared component and property."""
    return (
        isinstance(sent, dict)
        and sent.get("id") == declared["id"]
        and sent.get("property") == declared["property"]
        and set(sent) <= {"id", "property", "value"}
    )


def check_request(body: Any, callbacks: Mapping[str, Mapping[str, Any]]) -> str | None:
    """Why a callback request could not have come from the page, or ``None`` if its shape is right.

    Checks the shape only: the callback exists, its inputs and states are the
    declared ones in the declared order, the outputs are those of the
    callback, and the inputs said to have changed are among its inputs. The
    values are checked by the callbacks themselves.

    Parameters
    ----------
    body : object
        The request's JSON body.
    callbacks : mapping
        Dash's callback map (``app.callback_map``): output string to its spec.

    Returns
    -------
    str or None
    """
    if not isinstance(body, dict):
        return "the body must be a JSON object"
    output = body.get("output")
    if not isinstance(output, str) or "callback" not in callbacks.get(output, {}):  # clientside ones run in the page
        return "'output' must name one of the app's server callbacks"
    spec = callbacks[output]
    for key in ("inputs", "state"):
        sent, declared = body.get(key, []), spec.get(key, [])
        if not isinstance(sent, list) or len(sent) != len(declared):
            return f"{key!r} must list the callback's {len(declared)} {key}"
        for k, (s, d) in enumerate(zip(sent, declared, strict=True)):
            if not _spec_ok(s, d):
                return f"{key}[{k}] must be {{id: {d['id']!r}, property: {d['property']!r}, value}}"
    outputs = body.get("outputs")
    names = output.strip(".").split("...")  # a duplicate output keeps its "@hash", as the page sends it
    if output.startswith(".."):
        if not isinstance(outputs, list) or len(outputs) != len(names):
            return f"'outputs' must list the callback's {len(names)} outputs"
    else:
        outputs = [outputs]
    for name, out in zip(names, outputs, strict=True):
        ident, prop = name.rsplit(".", 1)
        if not isinstance(out, dict) or out.get("id") != ident or out.get("property") != prop:
            return f"'outputs' must be the callback's outputs ({name})"
    changed = body.get("changedPropIds", [])
    known = {f"{d['id']}.{d['property']}" for d in spec.get("inputs", [])}
    if not isinstance(changed, list) or not all(isinstance(c, str) and c in known for c in changed):
        return "'changedPropIds' must list some of the callback's inputs"
    return None
