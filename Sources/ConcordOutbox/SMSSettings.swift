import Foundation

/// How Concord reaches people by SMS and USSD, read once from the environment (docs/operations.md, "SMS and USSD").
/// Without `CONCORD_SMS_GATEWAY` nothing is sent and the intake endpoints refuse every request.
public struct SMSSettings: Sendable {
    /// The gateway replies and notifications go out through.
    public enum Gateway: String, Sendable, CaseIterable {
        case africastalking
        case twilio
    }

    public var gateway: Gateway
    /// Where the gateway's send API lives (a stub server in tests).
    public var baseURL: String
    /// The sender id or number messages come from.
    public var from: String?
    /// Africa's Talking: the application's username and API key.
    public var africasTalkingUsername: String?
    public var africasTalkingAPIKey: String?
    /// Twilio: the account SID and its auth token (which also signs Twilio's callbacks).
    public var twilioAccountSID: String?
    public var twilioAuthToken: String?
    /// The shared secrets the intake callbacks must carry (`?secret=` in the callback URL, or `X-Concord-Secret`):
    /// Africa's Talking (SMS, delivery reports and USSD) and RapidPro's External channel.
    public var africasTalkingSecret: String?
    public var rapidProSecret: String?
    /// The address gateways call Concord at, as they see it (`https://concord.example.org`): Twilio signs the full
    /// URL. Nil: the request's own `Host`.
    public var publicURL: String?
    /// The office and area an SMS complaint is lodged under (its coordinator triages it).
    public var office: String
    public var area: String
    /// The language of messages not in answer to a message (acknowledgements, outcomes, alerts).
    public var language: String
    /// Phone numbers of programmes and areas (their coordinators), by code: who receives alerts.
    public var contacts: [String: String]
    /// The retry schedule: first wait, longest wait, and how many attempts before a message is given up.
    public var retryInitial: Duration
    public var retryMaximum: Duration
    public var maxAttempts: Int

    public init(
        gateway: Gateway, baseURL: String, office: String, area: String, language: String = "en",
        contacts: [String: String] = [:], retryInitial: Duration = .seconds(2), retryMaximum: Duration = .seconds(600),
        maxAttempts: Int = 12
    ) {
        self.gateway = gateway
        self.baseURL = baseURL
        self.office = office
        self.area = area
        self.language = language
        self.contacts = contacts
        self.retryInitial = retryInitial
        self.retryMaximum = retryMaximum
        self.maxAttempts = maxAttempts
    }

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// The settings in `environment`; nil when no gateway is configured; a one-line error naming the variable when
    /// one is missing or wrong.
    public static func from(environment env: [String: String]) throws(Invalid) -> SMSSettings? {
        guard let name = env["CONCORD_SMS_GATEWAY"], !name.isEmpty else { return nil }
        guard let gateway = Gateway(rawValue: name) else {
            throw Invalid(description: "CONCORD_SMS_GATEWAY takes africastalking or twilio, not \(name)")
        }
        func required(_ key: String) throws(Invalid) -> String {
            guard let value = env[key], !value.isEmpty else {
                throw Invalid(description: "\(key) is required with CONCORD_SMS_GATEWAY=\(name)")
            }
            return value
        }
        let defaultBase =
            gateway == .africastalking ? "https://api.africastalking.com" : "https://api.twilio.com"
        var settings = SMSSettings(
            gateway: gateway, baseURL: env["CONCORD_SMS_BASE_URL"] ?? defaultBase,
            office: try required("CONCORD_SMS_OFFICE"), area: try required("CONCORD_SMS_AREA"),
            language: env["CONCORD_SMS_LANGUAGE"] ?? "en",
            contacts: try Self.contacts(env["CONCORD_SMS_CONTACTS"] ?? ""))
        settings.from = env["CONCORD_SMS_FROM"].flatMap { $0.isEmpty ? nil : $0 }
        switch gateway {
        case .africastalking:
            settings.africasTalkingUsername = try required("CONCORD_AT_USERNAME")
            settings.africasTalkingAPIKey = try required("CONCORD_AT_API_KEY")
        case .twilio:
            settings.twilioAccountSID = try required("CONCORD_TWILIO_ACCOUNT_SID")
            settings.twilioAuthToken = try required("CONCORD_TWILIO_AUTH_TOKEN")
            settings.from = try required("CONCORD_SMS_FROM")
        }
        settings.africasTalkingSecret = env["CONCORD_AT_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        settings.rapidProSecret = env["CONCORD_RAPIDPRO_SECRET"].flatMap { $0.isEmpty ? nil : $0 }
        settings.twilioAuthToken = settings.twilioAuthToken ?? env["CONCORD_TWILIO_AUTH_TOKEN"]
        settings.publicURL = env["CONCORD_PUBLIC_URL"].flatMap { $0.isEmpty ? nil : $0 }
        settings.retryInitial = .milliseconds(try Self.number(env, "CONCORD_SMS_RETRY_INITIAL_MS", default: 2_000))
        settings.retryMaximum = .seconds(try Self.number(env, "CONCORD_SMS_RETRY_MAX_SECONDS", default: 600))
        settings.maxAttempts = try Self.number(env, "CONCORD_SMS_MAX_ATTEMPTS", default: 12)
        return settings
    }

    /// `CCT=+221700000001,P-01=+221700000002`: codes of programmes or areas and their numbers.
    static func contacts(_ text: String) throws(Invalid) -> [String: String] {
        var contacts: [String: String] = [:]
        for entry in text.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw Invalid(description: "CONCORD_SMS_CONTACTS takes CODE=+number pairs separated by commas")
            }
            contacts[parts[0]] = parts[1]
        }
        return contacts
    }

    static func number(_ env: [String: String], _ key: String, default value: Int) throws(Invalid) -> Int {
        guard let text = env[key], !text.isEmpty else { return value }
        guard let number = Int(text), number > 0 else {
            throw Invalid(description: "\(key) takes a positive whole number, not \(text)")
        }
        return number
    }
}
