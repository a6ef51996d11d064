import ConcordCore

/// A referral as FHIR R4 resources: a `Task` following the SDOH Clinical Care IG's TaskForReferralManagement
/// profile, whose `focus` is the referral's `ServiceRequest`; and what a status update on the Task from the
/// receiver's system asks of the referral. The mapping table is in docs/api.md ("Referrals in FHIR").
public enum FHIRReferral {
    public static let taskProfile =
        "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement"
    public static let serviceRequestProfile =
        "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-ServiceRequest"
    /// Code systems naming Concord's own codes.
    public static let statusSystem = "urn:concord:referral-status"
    public static let organizationSystem = "urn:concord:organization"
    public static let reasonSystem = "urn:concord:referral-reason"

    /// The Task's status for a referral status. A completed service that was not delivered is `failed`.
    public static func taskStatus(_ state: Referral.State) -> String {
        switch state.status {
        case .created: "requested"
        case .acknowledged: "received"
        case .accepted: "accepted"
        case .declined, .redirected: "rejected"
        case .inService: "in-progress"
        case .completed, .feedbackPosted, .loopClosed:
            if case .notDelivered? = state.serviceOutcome { "failed" } else { "completed" }
        case .cancelled: "cancelled"
        }
    }

    /// The Task. `person`: the referred person's details for readers who see them (nil: withheld); `texts`: whether
    /// the reader reads free texts (the counter-referral in `output`).
    public static func task(
        id: String, version: Int64, state: Referral.State, person: JSONValue?, texts: Bool, catalog: ReferenceCatalog
    ) -> JSONValue {
        var members: [String: JSONValue] = [
            "resourceType": "Task", "id": .string(id),
            "meta": .object([
                "versionId": .string("\(version)"), "lastUpdated": .string(state.updatedAt.rfc3339),
                "profile": .array([.string(Self.taskProfile)]),
            ]),
            "identifier": .array([.object(["system": "urn:concord:tracking-code", "value": .string(id)])]),
            "status": .string(Self.taskStatus(state)), "intent": "order",
            "priority": .string(Self.priority(state.urgency)),
            "code": .object([
                "coding": .array([
                    .object([
                        "system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                        "display": "Fulfill the focal request",
                    ])
                ])
            ]),
            "focus": .object(["reference": .string("ServiceRequest/\(id)")]),
            "for": Self.subject(person), "authoredOn": .string(state.createdAt.rfc3339),
            "lastModified": .string(state.updatedAt.rfc3339),
            "requester": Self.organization(state.source, catalog), "owner": Self.organization(state.receiver, catalog),
            "businessStatus": .object([
                "coding": .array([
                    .object(["system": .string(Self.statusSystem), "code": .string(state.status.rawValue)])
                ]),
                "text": .string(state.status.rawValue),
            ]),
        ]
        if let reason = Self.statusReason(state) { members["statusReason"] = reason }
        if texts, let output = Self.output(state) { members["output"] = output }
        return .object(members)
    }

    /// The ServiceRequest the Task fulfils: what is asked (the referral type), why, for whom, by whom.
    public static func serviceRequest(
        id: String, version: Int64, state: Referral.State, person: JSONValue?, catalog: ReferenceCatalog
    ) -> JSONValue {
        .object([
            "resourceType": "ServiceRequest", "id": .string(id),
            "meta": .object([
                "versionId": .string("\(version)"), "lastUpdated": .string(state.updatedAt.rfc3339),
                "profile": .array([.string(Self.serviceRequestProfile)]),
            ]),
            "status": .string(Self.requestStatus(state)), "intent": "order",
            "priority": .string(Self.priority(state.urgency)),
            "code": .object([
                "coding": .array([
                    .object(["system": "urn:concord:referral-type", "code": .string(state.referralType)])
                ]),
                "text": .string(state.referralType),
            ]),
            "subject": Self.subject(person), "authoredOn": .string(state.createdAt.rfc3339),
            "requester": Self.organization(state.source, catalog),
            "performer": .array([Self.organization(state.receiver, catalog)]),
        ])
    }

    static func priority(_ urgency: Referral.Urgency) -> String {
        switch urgency {
        case .routine: "routine"
        case .priority: "urgent"
        case .emergency: "stat"
        }
    }

    static func requestStatus(_ state: Referral.State) -> String {
        switch state.status {
        case .created, .acknowledged, .accepted, .inService: "active"
        case .completed, .feedbackPosted, .loopClosed: "completed"
        case .declined, .redirected, .cancelled: "revoked"
        }
    }

    /// The person (or household) referred, by the source's reference; only its kind when withheld.
    static func subject(_ person: JSONValue?) -> JSONValue {
        let kind = person?["kind"]?.stringValue
        let type: JSONValue = kind == "household" ? "Group" : "Patient"
        guard let reference = person?["reference"]?.stringValue else {
            return .object(["type": type, "display": "withheld"])
        }
        return .object([
            "type": type,
            "identifier": .object(["system": "urn:concord:person-reference", "value": .string(reference)]),
        ])
    }

    static func organization(_ code: String, _ catalog: ReferenceCatalog) -> JSONValue {
        .object([
            "type": "Organization",
            "identifier": .object(["system": .string(Self.organizationSystem), "value": .string(code)]),
            "display": .string(
                catalog.programme(code)?.name ?? catalog.serviceType(code)?.name ?? catalog.office(code)?.name ?? code),
        ])
    }

    /// Why a referral was declined, or why its service was not delivered (the IG wants `text`).
    static func statusReason(_ state: Referral.State) -> JSONValue? {
        let code: String
        if let reason = state.declineReason, [.declined, .redirected].contains(state.status) {
            code = reason.rawValue
        } else if case .notDelivered(let reason, _)? = state.serviceOutcome {
            code = reason.rawValue
        } else {
            return nil
        }
        return .object([
            "coding": .array([.object(["system": .string(Self.reasonSystem), "code": .string(code)])]),
            "text": .string(code.replacingOccurrences(of: "_", with: " ")),
        ])
    }

    /// The counter-referral feedback: each service given, and the outcome.
    static func output(_ state: Referral.State) -> JSONValue? {
        guard let feedback = state.feedback else { return nil }
        let services = feedback.servicesGiven.map { service -> JSONValue in
            .object(["type": .object(["text": "service given"]), "valueString": .string(service)])
        }
        let outcome: JSONValue = .object([
            "type": .object(["text": "outcome"]), "valueString": .string(feedback.outcome),
        ])
        return .array([outcome] + services)
    }
}
