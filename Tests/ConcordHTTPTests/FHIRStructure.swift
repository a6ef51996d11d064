import ConcordCore

/// The FHIR R4 structure of the resources Concord serves, written out from the specification
/// (hl7.org/fhir/R4/task.html, servicerequest.html, datatypes.html), to check the JSON against it: every element
/// is one the resource defines, the required ones are there, codes are from their value sets, and references and
/// codeable concepts hold only their own members.
enum FHIRStructure {
    static let taskElements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
        "modifierExtension", "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "groupIdentifier",
        "partOf", "status", "statusReason", "businessStatus", "intent", "priority", "code", "description", "focus",
        "for", "encounter", "executionPeriod", "authoredOn", "lastModified", "requester", "performerType", "owner",
        "location", "reasonCode", "reasonReference", "insurance", "note", "relevantHistory", "restriction", "input",
        "output",
    ]
    static let serviceRequestElements: Set<String> = [
        "resourceType", "id", "meta", "implicitRules", "language", "text", "contained", "extension",
        "modifierExtension", "identifier", "instantiatesCanonical", "instantiatesUri", "basedOn", "replaces",
        "requisition", "status", "intent", "category", "priority", "doNotPerform", "code", "orderDetail",
        "quantityQuantity", "quantityRatio", "quantityRange", "subject", "encounter", "occurrenceDateTime",
        "occurrencePeriod", "occurrenceTiming", "asNeededBoolean", "asNeededCodeableConcept", "authoredOn",
        "requester", "performerType", "performer", "locationCode", "locationReference", "reasonCode",
        "reasonReference", "insurance", "supportingInfo", "specimen", "bodySite", "note", "patientInstruction",
        "relevantHistory",
    ]
    static let taskStatuses: Set<String> = [
        "draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress", "on-hold",
        "failed", "completed", "entered-in-error",
    ]
    static let requestStatuses: Set<String> = [
        "draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown",
    ]
    static let priorities: Set<String> = ["routine", "urgent", "asap", "stat"]
    static let referenceMembers: Set<String> = ["reference", "type", "identifier", "display"]
    static let conceptMembers: Set<String> = ["coding", "text"]
    static let codingMembers: Set<String> = ["system", "version", "code", "display", "userSelected"]

    /// What is wrong with a Task (empty: nothing), against R4 and the SDOH IG's TaskForReferralManagement
    /// (status, intent order, code, focus, for, authoredOn, requester required).
    static func taskProblems(_ task: JSONValue) -> [String] {
        var problems = Self.members(task, Self.taskElements, "Task")
        for required in ["status", "intent", "code", "focus", "for", "authoredOn", "requester", "meta"]
        where task[required] == nil {
            problems.append("Task.\(required) is required")
        }
        if let status = task["status"]?.stringValue, !Self.taskStatuses.contains(status) {
            problems.append("Task.status \(status)")
        }
        if task["intent"] != "order" { problems.append("Task.intent must be order") }
        if let priority = task["priority"]?.stringValue, !Self.priorities.contains(priority) {
            problems.append("Task.priority \(priority)")
        }
        for name in ["focus", "for", "requester", "owner"] { problems += Self.reference(task[name], "Task.\(name)") }
        for name in ["code", "businessStatus", "statusReason"] { problems += Self.concept(task[name], "Task.\(name)") }
        if task["statusReason"] != nil, task["statusReason"]?["text"] == nil {
            problems.append("Task.statusReason.text is required by the IG")
        }
        if case .array(let outputs)? = task["output"] {
            for output in outputs {
                problems += Self.members(output, ["type", "valueString"], "Task.output")
                problems += Self.concept(output["type"], "Task.output.type")
            }
        }
        return problems
    }

    static func serviceRequestProblems(_ request: JSONValue) -> [String] {
        var problems = Self.members(request, Self.serviceRequestElements, "ServiceRequest")
        for required in ["status", "intent", "subject"] where request[required] == nil {
            problems.append("ServiceRequest.\(required) is required")
        }
        if let status = request["status"]?.stringValue, !Self.requestStatuses.contains(status) {
            problems.append("ServiceRequest.status \(status)")
        }
        problems += Self.reference(request["subject"], "ServiceRequest.subject")
        problems += Self.reference(request["requester"], "ServiceRequest.requester")
        problems += Self.concept(request["code"], "ServiceRequest.code")
        if case .array(let performers)? = request["performer"] {
            for performer in performers { problems += Self.reference(performer, "ServiceRequest.performer") }
        }
        return problems
    }

    static func members(_ value: JSONValue?, _ allowed: Set<String>, _ path: String) -> [String] {
        guard case .object(let object)? = value else { return ["\(path) is not an object"] }
        return object.keys.filter { !allowed.contains($0) }.map { "\(path).\($0) is not an element" }
    }

    static func reference(_ value: JSONValue?, _ path: String) -> [String] {
        guard let value else { return [] }
        var problems = Self.members(value, Self.referenceMembers, path)
        if let identifier = value["identifier"] { problems += Self.members(identifier, ["system", "value"], path) }
        return problems
    }

    static func concept(_ value: JSONValue?, _ path: String) -> [String] {
        guard let value else { return [] }
        var problems = Self.members(value, Self.conceptMembers, path)
        if case .array(let codings)? = value["coding"] {
            for coding in codings { problems += Self.members(coding, Self.codingMembers, path + ".coding") }
        }
        return problems
    }
}
