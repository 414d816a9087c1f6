import Exporter
import Telemetry
import Testing

/// The Accept headers real scrapers send, and what each gets.
struct NegotiationTests {
    @Test func prometheusAsksForOpenMetricsFirst() {
        // Prometheus 2.x's default scrape_protocols, as it sends them.
        let p2 = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        #expect(Negotiation.format(accept: p2) == .openMetrics)
        // Prometheus 2.42 (Debian 12's): OpenMetrics 0.0.1 before the text format.
        #expect(Negotiation.format(accept: "application/openmetrics-text;version=0.0.1,text/plain;version=0.0.4;q=0.5,*/*;q=0.1") == .openMetrics)
    }

    @Test func everythingElseGetsTheTextFormat() {
        #expect(Negotiation.format(accept: nil) == .prometheus)
        #expect(Negotiation.format(accept: "*/*") == .prometheus)                                    // curl
        #expect(Negotiation.format(accept: "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5") == .prometheus)
        #expect(Negotiation.format(accept: "application/openmetrics-text;version=2.0.0") == .prometheus)  // a version not written here
        #expect(Negotiation.format(accept: "application/openmetrics-text;q=0") == .prometheus)          // refused outright
        #expect(Negotiation.format(accept: ";;;,=,q=") == .prometheus)
        #expect(Negotiation.contentType(.openMetrics).hasPrefix("application/openmetrics-text; version=1.0.0"))
        #expect(Negotiation.contentType(.prometheus).hasPrefix("text/plain; version=0.0.4"))
    }
}
