/// The status page at `/`: one self-contained HTML file (no external assets,
/// no build step) that reads /status.json every two seconds and draws each
/// group, its peers and its forwards, with a sparkline of each forward's
/// throughput over the last minutes. The first answer is rendered into the
/// page by the daemon, so it shows the facts even before its script runs.
enum StatusPage {
    static func html(initial json: String) -> String {
        // The JSON sits in a <script type="application/json">. Names and
        // errors come from peers and the relay: with <, > and & as JSON
        // escapes, no text can end that element or change how it is parsed.
        let embedded = json.replacingOccurrences(of: "&", with: "\\u0026").replacingOccurrences(of: "<", with: "\\u003c")
            .replacingOccurrences(of: ">", with: "\\u003e")
        return head + "<script id=\"initial\" type=\"application/json\">" + embedded + "</script>\n" + body
    }

    private static let head = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>p22p-up status</title>
        <style>
          :root { --ok: #1a7f37; --wait: #9a6700; --bad: #cf222e; --line: #d0d7de; --muted: #57606a; }
          body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; background: #fff; }
          h1 { font-size: 18px; margin: 0 0 4px; }
          .meta { color: var(--muted); margin-bottom: 18px; }
          section { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-bottom: 16px; }
          h2 { font-size: 16px; margin: 0 0 8px; display: flex; gap: 10px; align-items: baseline; flex-wrap: wrap; }
          .badge { font-size: 12px; padding: 1px 8px; border-radius: 10px; color: #fff; }
          .ok { background: var(--ok); } .wait { background: var(--wait); } .bad { background: var(--bad); }
          .small { color: var(--muted); font-size: 12px; font-weight: normal; }
          table { border-collapse: collapse; width: 100%; margin-top: 6px; }
          th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
          th { font-size: 12px; color: var(--muted); font-weight: 600; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          table.peers { width: auto; } table.peers td, table.peers th { padding-right: 32px; }
          .error { color: var(--bad); font-size: 12px; white-space: normal; }
          svg.spark { vertical-align: middle; }
          #stale { display: none; color: var(--bad); font-weight: 600; }
        </style>
        </head>
        <body>
        <h1>p22p-up</h1>
        <div class="meta"><span id="meta"></span> <span id="stale">(not answering; showing the last answer)</span></div>
        <div id="groups"></div>

        """

    private static let body = """
        <script>
        "use strict";
        const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));
        const bytes = n => { const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0; while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; } return (i ? n.toFixed(1) : n) + " " + u[i]; };
        const rate = n => bytes(Math.round(n)) + "/s";
        const ago = iso => { const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000)); return s < 90 ? s + " s" : s < 5400 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h"; };
        const badge = state => state === "joined" || state === "listening" ? "ok" : state === "stopped" ? "bad" : "wait";
        function spark(inRates, outRates) {
          const w = 160, h = 28, all = inRates.concat(outRates), max = Math.max(1, ...all), n = Math.max(inRates.length, 2);
          const path = r => r.map((v, i) => (i ? "L" : "M") + (i * w / (n - 1)).toFixed(1) + "," + (h - 1 - v / max * (h - 2)).toFixed(1)).join("");
          return '<svg class="spark" width="' + w + '" height="' + h + '" viewBox="0 0 ' + w + " " + h + '" role="img" aria-label="throughput, last minutes">' +
            '<rect width="' + w + '" height="' + h + '" fill="#f6f8fa"/>' +
            '<path d="' + path(inRates) + '" fill="none" stroke="#0969da" stroke-width="1.5"/>' +
            '<path d="' + path(outRates) + '" fill="none" stroke="#8250df" stroke-width="1.5"/></svg>';
        }
        function render(doc) {
          document.getElementById("meta").textContent = doc.profile + " \\u00b7 p22p " + doc.version + " \\u00b7 " + new Date(doc.time).toLocaleTimeString();
          document.getElementById("groups").innerHTML = doc.groups.map(g => {
            const peers = g.peers.length ? g.peers.map(p =>
              "<tr><td>" + esc(p.name) + "</td><td>" + p.cid + "</td><td>" + (p.session_up ? "up" : "not yet") + "</td><td class=num>" +
              (p.round_trip_ms === undefined ? "\\u2013" : p.round_trip_ms.toFixed(2) + " ms") + "</td></tr>").join("")
              : '<tr><td colspan=4 class="small">no other members</td></tr>';
            const forwards = g.forwards.length ? g.forwards.map(f =>
              "<tr><td>" + esc(f.listen) + (f.protocol === "udp" ? "/udp" : "") + "</td><td>" + esc(f.peer) + " " + esc(f.target) + "</td>" +
              '<td><span class="badge ' + badge(f.state) + '">' + esc(f.state) + "</span></td>" +
              "<td class=num>" + f.connections + "</td><td class=num>" + bytes(f.bytes_in) + "</td><td class=num>" + bytes(f.bytes_out) + "</td>" +
              "<td class=num>" + rate(f.rate_in + f.rate_out) + "</td><td>" + spark(f.history.rate_in, f.history.rate_out) + "</td></tr>").join("")
              : '<tr><td colspan=8 class="small">no forwards</td></tr>';
            return "<section><h2>" + esc(g.name) + ' <span class="badge ' + badge(g.link.state) + '">' + esc(g.link.state) + "</span>" +
              '<span class="small">for ' + ago(g.link.since) + " \\u00b7 as " + esc(g.member.name) + (g.member.cid === undefined ? "" : " (CID " + g.member.cid + ")") +
              " \\u00b7 " + esc(g.relay) + "</span></h2>" +
              (g.link.last_error ? '<div class="error">last error: ' + esc(g.link.last_error) + "</div>" : "") +
              '<table class="peers"><tr><th>peer</th><th>CID</th><th>session</th><th>round trip</th></tr>' + peers + "</table>" +
              "<table><tr><th>forward</th><th>to</th><th>state</th><th>conns</th><th>in</th><th>out</th><th>now</th>" +
              '<th>last minutes <span style="color:#0969da">in</span> <span style="color:#8250df">out</span></th></tr>' + forwards + "</table></section>";
          }).join("") || "<p>No groups.</p>";
        }
        render(JSON.parse(document.getElementById("initial").textContent));
        async function refresh() {
          try {
            const answer = await fetch("status.json", {cache: "no-store"});
            render(await answer.json());
            document.getElementById("stale").style.display = "none";
          } catch (e) {
            document.getElementById("stale").style.display = "inline";
          }
        }
        setInterval(refresh, 2000);
        </script>
        </body>
        </html>

        """
}
