"""Signing in with an API token, signing out, and the home page: what waits for the visitor, per role."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from ..errors import Unauthorized
from . import access, dashboard
from .blueprint import bp


@bp.route("/", methods=["GET"])
def home() -> Any:
    principal = access.signed_in_principal()
    if principal is None:
        return redirect(url_for("web.sign_in"))
    return render_template("web/home.html", principal=principal, **dashboard.view(principal))


home.slate_roles = frozenset({"public"})  # type: ignore[attr-defined]


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> Any:
    target = access.safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("web/sign_in.html", next=target)
    try:
        principal = access.sign_in(request.form.get("token", ""))
    except Unauthorized as error:
        # the token is never echoed back, logged or put in the URL
        return render_template("web/sign_in.html", next=target, error=error.message), 401
    flash(f"Signed in as {principal.name}.", "info")
    return redirect(target)


sign_in.slate_roles = frozenset({"public"})  # type: ignore[attr-defined]


@bp.route("/sign-out", methods=["POST"])
def sign_out() -> Any:
    access.sign_out()
    flash("Signed out.", "info")
    return redirect(url_for("web.sign_in"))


sign_out.slate_roles = frozenset({"public"})  # type: ignore[attr-defined]
