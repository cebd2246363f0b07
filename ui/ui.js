/* airlock's web page: the live decisions, the denials grouped by host and
 * path with buttons that write rules, pending approvals, clients, rules and
 * secrets. Every call goes to the listener that served this page; the
 * login token lives in an HttpOnly cookie this script never sees. Text
 * from the traffic (hosts, paths, reasons) is only ever set as textContent:
 * a sandbox chooses it. */
"use strict";

const WRITE_HEADERS = { "Content-Type": "application/json", "X-Airlock-UI": "1" };
const MAX_ROWS = 200;
const REFRESH_MS = 5000;

let loggedIn = false;
let streams = [];          /* AbortControllers of the open streams */
let refreshTimer = null;
const denials = new Map(); /* client|host|port|path -> group */

function $(id) { return document.getElementById(id); }

function el(tag, props, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(props || {})) {
		if (k === "class") e.className = v;
		else if (k === "onclick") e.addEventListener("click", v);
		else e.setAttribute(k, v);
	}
	for (const k of kids)
		e.append(k instanceof Node ? k : document.createTextNode(k === undefined || k === null ? "" : String(k)));
	return e;
}

function flash(msg, isError) {
	const f = $("flash");
	f.textContent = msg;
	f.className = "flash " + (isError ? "error" : "");
}

class HttpError extends Error {
	constructor(status, msg) { super(msg); this.status = status; }
}

async function api(method, path, body) {
	const opt = { method, credentials: "same-origin", headers: method === "GET" ? {} : WRITE_HEADERS };
	if (body !== undefined)
		opt.body = JSON.stringify(body);
	const r = await fetch(path, opt);
	const text = await r.text();
	let data = null;
	try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
	if (r.status === 401 && loggedIn)
		showLogin("Your session ended: log in again.");
	if (!r.ok)
		throw new HttpError(r.status, (data && data.error) || ("HTTP " + r.status));
	return data;
}

/* ---- login ---- */

function showLogin(msg) {
	loggedIn = false;
	for (const c of streams)
		c.abort();
	streams = [];
	clearInterval(refreshTimer);
	$("main").hidden = true;
	$("logout").hidden = true;
	$("login-pane").hidden = false;
	$("login-error").textContent = msg || "";
	$("token").focus();
}

async function onLogin(ev) {
	ev.preventDefault();
	const tok = $("token").value.trim();
	try {
		await api("POST", "/ui/login", { token: tok });
	} catch (e) {
		$("login-error").textContent = e.status === 401 ? "Wrong token." : "Login failed: " + e.message;
		return;
	}
	$("token").value = "";
	start();
}

async function onLogout() {
	try { await api("POST", "/ui/logout"); } catch (e) { /* logged out either way */ }
	showLogin("Logged out.");
}

/* ---- streams of JSON lines ---- */

async function follow(path, onReset, onLine, onMissing, note) {
	while (loggedIn) {
		const ctl = new AbortController();
		streams.push(ctl);
		try {
			const r = await fetch(path, { credentials: "same-origin", signal: ctl.signal });
			if (r.status === 401) { showLogin("Your session ended: log in again."); return; }
			if (r.status === 404) { onMissing(); return; }
			if (!r.ok) throw new Error("HTTP " + r.status);
			note.textContent = "live";
			onReset();
			const reader = r.body.getReader();
			const dec = new TextDecoder();
			let buf = "";
			for (;;) {
				const { value, done } = await reader.read();
				if (done) break;
				buf += dec.decode(value, { stream: true });
				let i;
				while ((i = buf.indexOf("\n")) >= 0) {
					const line = buf.slice(0, i);
					buf = buf.slice(i + 1);
					if (line.trim()) {
						try { onLine(JSON.parse(line)); } catch (e) { /* one bad line, not the stream */ }
					}
				}
			}
		} catch (e) {
			if (!loggedIn) return;
		}
		streams = streams.filter((c) => c !== ctl);
		if (!loggedIn) return;
		note.textContent = "reconnecting…";
		await new Promise((res) => setTimeout(res, 2000));
	}
}

/* ---- decisions and denials ---- */

function timeOf(d) {
	const t = d.ts ? new Date(d.ts) : new Date();
	return isNaN(t) ? String(d.ts) : t.toLocaleTimeString();
}

function bareP(p) { return (p || "").split("?")[0]; }

function onDecision(d) {
	const tbody = $("decisions").tBodies[0];
	const verdict = d.verdict || "";
	tbody.prepend(el("tr", { class: "decision " + verdict },
		el("td", {}, timeOf(d)), el("td", { class: verdict }, verdict), el("td", {}, d.client),
		el("td", {}, d.method), el("td", {}, d.host + (d.port ? ":" + d.port : "")), el("td", {}, d.path),
		el("td", {}, d.status), el("td", {}, d.reason)));
	while (tbody.rows.length > MAX_ROWS)
		tbody.deleteRow(-1);
	if (verdict === "deny" && d.client && d.host)
		addDenial(d);
}

function addDenial(d) {
	const path = d.method === "CONNECT" ? "" : bareP(d.path);
	const key = [d.client, d.host, d.port, path].join("|");
	let g = denials.get(key);
	if (!g) {
		g = { client: d.client, host: d.host, port: d.port, path, methods: new Set(), count: 0, reason: "", row: null, done: "" };
		denials.set(key, g);
	}
	if (d.method) g.methods.add(d.method);
	g.count++;
	g.reason = d.reason || "";
	renderDenial(g);
}

function renderDenial(g) {
	const cells = [
		el("td", {}, g.client), el("td", {}, g.host + (g.port ? ":" + g.port : "")), el("td", {}, g.path || "(any)"),
		el("td", {}, [...g.methods].join(" ")), el("td", {}, g.count), el("td", {}, g.reason),
	];
	const act = el("td", {});
	if (g.done) {
		act.append(el("span", { class: "done" }, g.done));
	} else {
		act.append(el("button", { type: "button", class: "allow-1h", onclick: () => allowDenial(g, 3600) }, "allow for 1 h"),
			el("button", { type: "button", class: "allow-always", onclick: () => allowDenial(g, 0) }, "always"));
	}
	const row = el("tr", { class: "denial" }, ...cells, act);
	row.dataset.host = g.host;
	row.dataset.path = g.path;
	row.dataset.client = g.client;
	if (g.row) g.row.replaceWith(row);
	else $("denials").tBodies[0].prepend(row);
	g.row = row;
}

/* The rule that lets exactly this through: this client, host, port and
 * path, the methods seen denied; a CONNECT denial opens the host and port. */
async function allowDenial(g, ttl) {
	const body = { client: g.client, host: g.host };
	if (g.port) body.ports = [Number(g.port)];
	const methods = [...g.methods].filter((m) => m !== "CONNECT");
	if (g.path) body.paths = [g.path];
	if (methods.length && g.path) body.methods = methods;
	if (ttl) body.ttl_seconds = ttl;
	try {
		const rule = await api("POST", "/proxy/v1/allows", body);
		g.done = "allowed: rule " + rule.id + (ttl ? " for 1 h" : "");
		flash("Rule " + rule.id + " added for " + g.client + " → " + g.host + (g.path || ""));
	} catch (e) {
		if (e.status === 409) g.done = "a rule already allows it";
		flash("Not added: " + e.message, true);
	}
	renderDenial(g);
	refresh();
}

function resetDecisions() {
	$("decisions").tBodies[0].replaceChildren();
	$("denials").tBodies[0].replaceChildren();
	denials.clear();
}

/* ---- approvals (held requests) ---- */

const approvals = new Map();   /* id -> row */

function onApproval(a) {
	if (a.id === undefined) return;
	const old = approvals.get(a.id);
	if (a.state && a.state !== "pending") {
		if (old) { old.remove(); approvals.delete(a.id); }
		return;
	}
	/* what the rule covers: this path (or a /* prefix the approver types),
	 * for how long */
	const path = el("input", { type: "text", class: "approve-path", size: "24" });
	path.value = a.path || "";
	if (!a.path) path.disabled = true;
	const ttl = el("select", { class: "approve-ttl" },
		el("option", { value: "3600" }, "for 1 h"), el("option", { value: "86400" }, "for 1 day"),
		el("option", { value: "0" }, "always"));
	const act = el("td", {}, path, ttl,
		el("button", { type: "button", class: "approve", onclick: () => decide(a, "approve", path.value, ttl.value) }, "approve"),
		el("button", { type: "button", class: "refuse", onclick: () => decide(a, "deny") }, "deny"));
	const row = el("tr", { class: "approval" }, el("td", {}, a.client), el("td", {}, a.method),
		el("td", {}, a.host + (a.port ? ":" + a.port : "")), el("td", {}, a.path), el("td", {}, a.reason),
		el("td", {}, a.expires_at ? "until " + new Date(a.expires_at).toLocaleTimeString() : ""), act);
	row.dataset.id = a.id;
	if (old) old.replaceWith(row);
	else $("approvals").tBodies[0].prepend(row);
	approvals.set(a.id, row);
}

async function decide(a, decision, path, ttl) {
	const body = { decision };
	if (decision === "approve") {
		if (a.path && path && path !== a.path) body.path = path;
		body.ttl_seconds = Number(ttl);
	}
	try {
		await api("POST", "/proxy/v1/approvals/" + encodeURIComponent(a.id), body);
		flash((decision === "approve" ? "Approved: " : "Refused: ") + a.method + " " + a.host + (a.path || ""));
		const row = approvals.get(a.id);
		if (row) { row.remove(); approvals.delete(a.id); }
		refresh();
	} catch (e) {
		flash("Not done: " + e.message, true);
	}
}

function resetApprovals() {
	$("approvals").tBodies[0].replaceChildren();
	approvals.clear();
}

/* ---- clients, rules, secrets ---- */

function list(v) { return Array.isArray(v) && v.length ? v.join(" ") : "any"; }

async function revokeRule(r) {
	const body = { client: r.client, host: r.host, ports: r.ports, methods: r.methods, paths: r.paths,
		passthrough: !!r.passthrough };
	if (r.secret) body.secret = r.secret;
	try {
		await api("POST", "/proxy/v1/allows/revoke", body);
		flash("Rule " + r.id + " revoked");
	} catch (e) {
		flash("Not revoked: " + e.message, true);
	}
	refresh();
}

async function refreshClients() {
	const clients = await api("GET", "/proxy/v1/clients");
	const box = el("div", {});
	for (const c of clients) {
		const rules = await api("GET", "/proxy/v1/clients/" + encodeURIComponent(c.name));
		const t = el("table", { class: "rules" }, el("thead", {}, el("tr", {},
			el("th", {}, "id"), el("th", {}, "host"), el("th", {}, "ports"), el("th", {}, "methods"),
			el("th", {}, "paths"), el("th", {}, "secret"), el("th", {}, "expires"), el("th", {}, ""))));
		const tb = el("tbody", {});
		for (const r of rules)
			tb.append(el("tr", { class: "rule" }, el("td", {}, r.id), el("td", {}, r.host), el("td", {}, list(r.ports)),
				el("td", {}, list(r.methods)), el("td", {}, list(r.paths)),
				el("td", {}, r.passthrough ? "(passthrough)" : (r.secret || "")),
				el("td", {}, r.expires_at || "never"),
				el("td", {}, el("button", { type: "button", class: "revoke", onclick: () => revokeRule(r) }, "revoke"))));
		t.append(tb);
		box.append(el("h3", {}, c.name + " ", el("span", { class: "muted" }, "(" + rules.length + " rules)")),
			rules.length ? t : el("p", { class: "muted" }, "no rules: everything it asks is denied"));
	}
	if (!clients.length) box.append(el("p", { class: "muted" }, "no clients yet"));
	$("clients").replaceChildren(...box.childNodes);
}

async function refreshSecrets() {
	const secrets = await api("GET", "/proxy/v1/secrets");
	$("secrets").tBodies[0].replaceChildren(...secrets.map((s) => el("tr", {},
		el("td", {}, s.name), el("td", {}, s.host), el("td", {}, s.type),
		el("td", {}, s.status + (s.status_reason ? ": " + s.status_reason : "")), el("td", {}, s.created_at))));
}

async function refreshStatus() {
	const st = await api("GET", "/proxy/v1/status");
	$("status").textContent = "v" + st.version + " · mode " + st.mode + " · policy " + st.policy_version +
		" · enforcer " + (st.enforcer && st.enforcer.running ? "running" : "not running");
}

async function refresh() {
	if (!loggedIn) return;
	try {
		await Promise.all([refreshStatus(), refreshClients(), refreshSecrets()]);
	} catch (e) {
		if (e.status !== 401) flash("Refresh failed: " + e.message, true);
	}
}

/* ---- start ---- */

function start() {
	loggedIn = true;
	$("login-pane").hidden = true;
	$("main").hidden = false;
	$("logout").hidden = false;
	flash("");
	refresh();
	refreshTimer = setInterval(refresh, REFRESH_MS);
	follow("/proxy/v1/decisions?follow=1", resetDecisions, onDecision,
		() => { $("stream-note").textContent = "no decisions stream on this broker"; }, $("stream-note"));
	follow("/proxy/v1/approvals?follow=1", resetApprovals, onApproval,
		() => { $("approvals-note").textContent = "this broker holds no requests (held requests are not available)"; },
		$("approvals-note"));
}

document.addEventListener("DOMContentLoaded", async () => {
	$("login-form").addEventListener("submit", onLogin);
	$("logout").addEventListener("click", onLogout);
	try {
		loggedIn = true;   /* a cookie from before may still be good */
		await api("GET", "/proxy/v1/status");
		start();
	} catch (e) {
		showLogin("");
	}
});
