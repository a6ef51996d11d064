/// What happened to one message Concord sent about a case (an SMS acknowledgement, the outcome, an alert to a
/// programme): sent, delivered or failed, as the gateway said. Recorded as an event of the case
/// (`ComplaintMessageSent`, `ReferralMessageFailed`, ...), so that the case history says what the person was told and
/// when. `to` and `text` are personal data: they are free text of the event (see `FreeText.members`), sealed with the
/// case's subject and erased with it; a case without a subject (anonymous) records neither.
public struct Delivery: Sendable, Hashable {
    /// The outbox message this is about: the same for its sent, delivered and failed events.
    public var message: String
    public var purpose: Purpose
    public var outcome: Outcome
    /// The gateway that took (or refused) the message: `africastalking`, `twilio`.
    public var gateway: String
    /// Who it was for: `complainant`, `programme:CCT`, `area:P-01`.
    public var recipient: String
    /// The phone number it went to; nil when not recorded (a case without a subject to seal it with).
    public var to: String?
    public var text: String?
    /// The gateway's id for the message, which its delivery reports name.
    public var gatewayMessageID: String?
    /// Why it failed, in the gateway's words.
    public var reason: String?
    public var at: Timestamp

    public init(
        message: String, purpose: Purpose, outcome: Outcome, gateway: String, recipient: String, to: String? = nil,
        text: String? = nil, gatewayMessageID: String? = nil, reason: String? = nil, at: Timestamp
    ) {
        self.message = message
        self.purpose = purpose
        self.outcome = outcome
        self.gateway = gateway
        self.recipient = recipient
        self.to = to
        self.text = text
        self.gatewayMessageID = gatewayMessageID
        self.reason = reason
        self.at = at
    }

    /// Why a message is sent.
    public enum Purpose: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        /// To the complainant: the complaint was received, with its tracking code and due date.
        case acknowledgement
        /// To the complainant: the redress outcome.
        case outcome
        /// To the receiving programme: a new referral (urgent ones say so).
        case referralAlert = "referral_alert"
        /// To the responsible programme and the area's coordinator: a complaint escalated as overdue.
        case overdueAlert = "overdue_alert"
    }

    public enum Outcome: String, Sendable, Hashable, CaseIterable, PayloadEnum {
        case sent
        case delivered
        case failed
    }

    var payload: JSONValue {
        Payload.object([
            "message": self.message, "purpose": self.purpose, "outcome": self.outcome, "gateway": self.gateway,
            "recipient": self.recipient,
            "to": self.to, "text": self.text, "gateway_message_id": self.gatewayMessageID, "reason": self.reason,
            "at": self.at,
        ])
    }

    init(reader: PayloadReader, outcome: Outcome, at: Timestamp) throws(EventPayloadError) {
        self.init(
            message: try reader.required("message"), purpose: try reader.required("purpose"), outcome: outcome,
            gateway: try reader.required("gateway"), recipient: try reader.required("recipient"),
            to: try reader.optionalText("to"), text: try reader.optionalText("text"),
            gatewayMessageID: try reader.optional("gateway_message_id"), reason: try reader.optional("reason"), at: at)
    }

    /// Every event type that records a delivery, on every kind of stream.
    public static let eventTypes: Set<String> = Set(
        ["Complaint", "Referral"].flatMap { prefix in
            Outcome.allCases.map { "\(prefix)Message\($0.rawValue.capitalized)" }
        })

    /// The event type of this delivery on a stream whose event types start with `prefix` (`Complaint`, `Referral`).
    public func eventType(prefix: String) -> String {
        prefix + "Message" + self.outcome.rawValue.capitalized
    }
}

/// A kind of case whose stream records deliveries.
public protocol RecordsDeliveries: StateMachine {
    /// The event recording `delivery`.
    static func event(recording delivery: Delivery) -> Event
    /// The delivery an event records, if it is one.
    static func delivery(in event: Event) -> Delivery?
}

extension Complaint: RecordsDeliveries {
    public static func event(recording delivery: Delivery) -> Event { .delivery(delivery) }
    public static func delivery(in event: Event) -> Delivery? {
        guard case .delivery(let delivery) = event else { return nil }
        return delivery
    }
}

extension Referral: RecordsDeliveries {
    public static func event(recording delivery: Delivery) -> Event { .delivery(delivery) }
    public static func delivery(in event: Event) -> Delivery? {
        guard case .delivery(let delivery) = event else { return nil }
        return delivery
    }
}
