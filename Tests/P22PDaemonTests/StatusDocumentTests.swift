import Foundation
@testable import P22PDaemon
import XCTest

/// The shape of /status.json that p22p-up(1) documents, the table of
/// `p22p-up status`, and the rates behind the sparklines.
final class StatusDocumentTests: XCTestCase {
    static let sample = StatusDocument(
        version: "0.1.0", profile: "/etc/p22p/home.yaml", time: Date(timeIntervalSince1970: 1_800_000_000), sampleInterval: 2,
        groups: [StatusDocument.Group(
            name: "home", relay: "wss://relay.example.net",
            member: StatusDocument.Member(name: "laptop", cid: 2),
            link: StatusDocument.Link(state: "joined", since: Date(timeIntervalSince1970: 1_799_999_880), lastError: "the relay went away"),
            peers: [StatusDocument.Peer(name: "nas", cid: 1, sessionUp: true, roundTripMs: 0.42)],
            forwards: [StatusDocument.Forward(
                listen: "127.0.0.1:18000", protocol: "tcp", peer: "nas", target: "127.0.0.1:8000", state: "listening",
                connections: 1, connectionsTotal: 3, bytesIn: 4_194_304, bytesOut: 78, rateIn: 2048, rateOut: 0,
                history: StatusDocument.History(rateIn: [0, 2048], rateOut: [0, 0]), dropped: nil)])])

    func testTheJSONHasTheDocumentedKeys() throws {
        let json = String(decoding: try StatusDocument.encoder.encode(Self.sample), as: UTF8.self)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["version", "profile", "time", "sample_interval", "groups"])
        XCTAssertEqual(object["time"] as? String, "2027-01-15T08:00:00Z")
        let group = try XCTUnwrap((object["groups"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(group.keys), ["name", "relay", "member", "link", "peers", "forwards"])
        XCTAssertEqual(group["relay"] as? String, "wss://relay.example.net", "slashes are not escaped")
        XCTAssertEqual(Set((group["link"] as? [String: Any])?.keys ?? [:].keys), ["state", "since", "last_error"])
        XCTAssertEqual(Set((group["member"] as? [String: Any])?.keys ?? [:].keys), ["name", "cid"])
        let peer = try XCTUnwrap((group["peers"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(peer.keys), ["name", "cid", "session_up", "round_trip_ms"])
        let forward = try XCTUnwrap((group["forwards"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(forward.keys), ["listen", "protocol", "peer", "target", "state", "connections", "connections_total",
                                           "bytes_in", "bytes_out", "rate_in", "rate_out", "history"])
        XCTAssertEqual(Set((forward["history"] as? [String: Any])?.keys ?? [:].keys), ["rate_in", "rate_out"])
        XCTAssertEqual(try StatusDocument.decoder.decode(StatusDocument.self, from: Data(json.utf8)), Self.sample)
    }

    func testTheTableHasARowPerLinkPeerAndForward() {
        let table = StatusTable.render(Self.sample, now: Date(timeIntervalSince1970: 1_800_000_000))
        let lines = table.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, table)
        XCTAssertTrue(lines[0].hasPrefix("GROUP  WHAT"), table)
        XCTAssertTrue(lines[1].contains("laptop (CID 2) via wss://relay.example.net") && lines[1].contains("joined for 2 min"), table)
        XCTAssertFalse(lines[1].contains("went away"), "a joined link does not repeat its old error")
        XCTAssertTrue(lines[2].contains("nas (CID 1)") && lines[2].contains("session up, 0.42 ms"), table)
        XCTAssertTrue(lines[3].contains("127.0.0.1:18000 -> nas 127.0.0.1:8000") && lines[3].contains("4.0 MiB")
                      && lines[3].contains("78 B") && lines[3].contains("2.0 KiB/s"), table)
    }

    /// Names and errors come from peers and the relay: none can end the
    /// element the first answer is embedded in, or start a comment there.
    func testTheEmbeddedDocumentCannotEndItsScriptElement() {
        let page = StatusPage.html(initial: #"{"last_error": "</script><!--<script>&amp;"}"#)
        XCTAssertEqual(page.components(separatedBy: "</script>").count - 1, 2, "the embedded answer's and the page script's own")
        XCTAssertFalse(page.contains("<!--"))
        XCTAssertTrue(page.contains(#"\u003c/script\u003e\u003c!--\u003cscript\u003e\u0026amp;"#))
    }

    func testRatesComeFromConsecutiveSamples() {
        var history = ForwardHistory(capacity: 3)
        history.record(time: 0, bytesIn: 0, bytesOut: 0)
        history.record(time: 2, bytesIn: 4000, bytesOut: 200)
        history.record(time: 4, bytesIn: 4000, bytesOut: 1200)
        XCTAssertEqual(history.rates, ForwardHistory.Rates(rateIn: [2000, 0], rateOut: [100, 500]))
        // A counter that starts again (the forward was replaced) is no negative rate.
        history.record(time: 6, bytesIn: 10, bytesOut: 0)
        history.record(time: 8, bytesIn: 30, bytesOut: 0)
        XCTAssertEqual(history.rates.rateIn, [0, 0, 10], "the oldest sample fell out: at most `capacity` rates")
    }
}
