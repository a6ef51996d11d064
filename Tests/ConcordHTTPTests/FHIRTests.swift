import ConcordCore
import ConcordHTTP
import ConcordStore
import ConcordTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Referrals as FHIR Tasks: read, search, and status updates that run the referral commands.
@Suite struct FHIRTests {
    static func createReferral(_ client: any TestClientProtocol, _ tokens: Tokens) async throws -> String {
        let created = try await client.send(.post, "/v1/referrals", token: tokens.programme, body: Body.referral)
        try #require(created.status == .created, "\(created.json)")
        return try #require(created["id"]?.stringValue)
    }

    static func fhir(_ status: String) -> HTTPFields {
        var headers = HTTPFields()
        headers[.contentType] = "application/fhir+json"
        return headers
    }

    @Test func aTaskReadsAsTheReferralAndAnAcceptedUpdateRunsTheCommand() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let id = try await Self.createReferral(client, tokens)
            let task = try await client.send(.get, "/fhir/Task/\(id)", token: tokens.receiver)
            #expect(task.status == .ok)
            #expect(task.headers[.contentType] == "application/fhir+json")
            // The elements the R4 Task and the SDOH IG's TaskForReferralManagement require.
            #expect(task["resourceType"] == "Task" && task["id"] == .string(id))
            #expect(
                task["meta"]?["profile"]
                    == .array([
                        "http://hl7.org/fhir/us/sdoh-clinicalcare/StructureDefinition/SDOHCC-TaskForReferralManagement"
                    ]))
            #expect(task["status"] == "requested" && task["intent"] == "order")
            #expect(task["code"]?["coding"]?.arrayValue?.first?["code"] == "fulfill")
            #expect(task["focus"]?["reference"] == .string("ServiceRequest/\(id)"))
            #expect(task["for"]?["identifier"]?["value"] == "HH-42" && task["for"]?["type"] == "Group")
            #expect(task["requester"]?["identifier"]?["value"] == "CCT")
            #expect(task["owner"]?["identifier"]?["value"] == "HEALTH")
            #expect(task["authoredOn"]?.stringValue != nil && task["lastModified"]?.stringValue != nil)
            #expect(task["businessStatus"]?["text"] == "created")
            #expect(FHIRStructure.taskProblems(task.json) == [], "\(task.json)")
            let request = try await client.send(.get, "/fhir/ServiceRequest/\(id)", token: tokens.receiver)
            #expect(request["resourceType"] == "ServiceRequest" && request["intent"] == "order", "\(request.json)")
            #expect(request["status"] == "active" && request["priority"] == "urgent")
            #expect(FHIRStructure.serviceRequestProblems(request.json) == [], "\(request.json)")

            let accepted = try await client.send(
                .put, "/fhir/Task/\(id)", token: tokens.receiver,
                body: #"{"resourceType":"Task","id":"\#(id)","status":"accepted","intent":"order"}"#,
                headers: Self.fhir("accepted"))
            #expect(accepted.status == .ok, "\(accepted.json)")
            #expect(accepted["status"] == "accepted" && accepted["businessStatus"]?["text"] == "accepted")
            #expect(FHIRStructure.taskProblems(accepted.json) == [], "\(accepted.json)")
            let referral = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.receiver)
            #expect(referral["referral"]?["status"] == "accepted")
            let types = referral["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue }
            #expect(types == ["ReferralCreated", "ReferralAcknowledged", "ReferralAccepted"])
            #expect(referral["events"]?.arrayValue?.last?["role"] == "programme")

            // In progress, then completed with output: the service and the counter-referral.
            let started = try await client.send(
                .patch, "/fhir/Task/\(id)", token: tokens.receiver,
                body: #"[{"op":"replace","path":"/status","value":"in-progress"}]"#,
                headers: Self.fhir("in-progress"))
            #expect(started["status"] == "in-progress", "\(started.json)")
            let completed = try await client.send(
                .patch, "/fhir/Task/\(id)", token: tokens.receiver,
                body: #"{"status":"completed","output":[{"type":{"text":"service"},"valueString":"assessment"}]}"#,
                headers: Self.fhir("completed"))
            #expect(completed["status"] == "completed", "\(completed.json)")
            #expect(completed["output"]?.arrayValue?.contains { $0["valueString"] == "assessment" } == true)
            #expect(FHIRStructure.taskProblems(completed.json) == [], "\(completed.json)")
            let after = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.programme)
            #expect(after["referral"]?["status"] == "feedback_posted", "\(after.json)")

            let search = "/fhir/Task?owner=Organization/HEALTH&_lastupdated=gt2000-01-01T00:00:00Z"
            let last = LastAnswer()
            try await poll(within: .seconds(15), "the search finds the Task: \(last.text)") {
                let bundle = try await client.send(.get, search, token: tokens.receiver)
                last.text = bundle.text
                return bundle["type"] == "searchset"
                    && bundle["entry"]?.arrayValue?.first?["resource"]?["status"] == "completed"
            }
            let others = try await client.send(.get, search, token: tokens.otherProgramme)
            #expect(others["entry"] == .array([]), "\(others.json)")
        }
    }

    @Test func aBadStatusUpdateAnswersAnOperationOutcomeAndChangesNothing() async throws {
        let settings = try await TestDatabases.shared.freshDatabase()
        let tokens = try await Tokens.make(settings)
        try await withApplication(settings: settings) { client in
            let id = try await Self.createReferral(client, tokens)
            for (token, body, status, expression) in [
                // Not a transition the state allows: nothing is run, not even the acknowledgement.
                (tokens.receiver, #"{"status":"completed"}"#, HTTPResponse.Status.conflict, nil as String?),
                (tokens.receiver, #"{"status":"rejected"}"#, .badRequest, "statusReason"),
                (tokens.receiver, #"{"status":"on-hold"}"#, .badRequest, "status"),
                (tokens.receiver, #"{"resourceType":"Patient","status":"accepted"}"#, .badRequest, "resourceType"),
                // The source's system may not accept on the receiver's behalf.
                (tokens.programme, #"{"status":"accepted"}"#, .forbidden, nil),
                (tokens.otherProgramme, #"{"status":"accepted"}"#, .notFound, nil),
            ] {
                let answer = try await client.send(
                    .patch, "/fhir/Task/\(id)", token: token, body: body, headers: Self.fhir(""))
                #expect(answer.status == status, "\(body): \(answer.json)")
                #expect(answer["resourceType"] == "OperationOutcome", "\(body): \(answer.json)")
                #expect(answer.headers[.contentType] == "application/fhir+json")
                if let expression {
                    #expect(answer["issue"]?.arrayValue?.first?["expression"] == .array([.string(expression)]))
                }
            }
            let referral = try await client.send(.get, "/v1/referrals/\(id)", token: tokens.receiver)
            #expect(referral["version"] == 1 && referral["referral"]?["status"] == "created", "\(referral.json)")
            let missing = try await client.send(.get, "/fhir/Task/R-NOPE-NOPE", token: tokens.receiver)
            #expect(missing.status == .notFound && missing["resourceType"] == "OperationOutcome")
            // A rejection with its reason runs acknowledge and decline.
            let rejected = try await client.send(
                .put, "/fhir/Task/\(id)", token: tokens.receiver,
                body:
                    #"{"resourceType":"Task","status":"rejected","statusReason":{"coding":[{"code":"lack_of_capacity"}],"text":"No places left."}}"#,
                headers: Self.fhir("rejected"))
            #expect(rejected["status"] == "rejected", "\(rejected.json)")
            #expect(rejected["statusReason"]?["coding"]?.arrayValue?.first?["code"] == "lack_of_capacity")
            #expect(FHIRStructure.taskProblems(rejected.json) == [], "\(rejected.json)")
        }
    }
}

/// The last answer a poll saw, for its failure message.
final class LastAnswer: @unchecked Sendable {
    var text = ""
}
