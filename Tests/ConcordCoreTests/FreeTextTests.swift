import ConcordCore
import Crypto
import Foundation
import Testing

@Suite struct FreeTextTests {
    @Test func aSealedTextOpensWithItsKeyAndDecodesAsWithheldWithout() throws {
        let key = SymmetricKey(size: .bits256)
        let sealed = try FreeText.seal("Her brother took the card.", subject: "C-1", key: key)
        guard case .sealed(let subject, let bytes) = PersonalData.form(of: sealed) else {
            Issue.record("not a sealed form: \(sealed)")
            return
        }
        #expect(subject == "C-1")
        #expect(try FreeText.open(bytes, subject: "C-1", key: key) == "Her brother took the card.")
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try FreeText.open(bytes, subject: "C-2", key: key)
        }
        // Read without a key (a projection), the event still decodes; the domain holds a placeholder.
        let payload: JSONValue = ["text": sealed, "at": "2026-11-25T09:30:00.000000Z"]
        let event = try Complaint.Event.decode(type: "ComplaintNoteAdded", schemaVersion: 1, payload: payload)
        guard case .noteAdded(let text, _) = event else {
            Issue.record("decoded as \(event)")
            return
        }
        #expect(text == FreeText.withheld)
        let erased: JSONValue = ["text": PersonalData.erased(subject: "C-1"), "at": "2026-11-25T09:30:00.000000Z"]
        #expect(throws: Never.self) {
            try Complaint.Event.decode(type: "ComplaintNoteAdded", schemaVersion: 1, payload: erased)
        }
        let malformed: JSONValue = ["text": ["subject": "C-1"], "at": "2026-11-25T09:30:00.000000Z"]
        #expect(throws: EventPayloadError.self) {
            try Complaint.Event.decode(type: "ComplaintNoteAdded", schemaVersion: 1, payload: malformed)
        }
    }

    @Test func lookupValuesAreNormalisedBeforeHashing() throws {
        #expect(CaseLookup.normalise(" +221 77-000 00 00 ", as: .phone) == "+221770000000")
        #expect(CaseLookup.normalise("0770 000", as: .phone) == "0770000")
        #expect(CaseLookup.normalise("+", as: .phone) == nil)
        #expect(CaseLookup.normalise("sn-123 45", as: .nationalID) == "SN12345")
        let key = CaseLookup.key(master: SymmetricKey(size: .bits256))
        let one = try #require(CaseLookup.digest("+221 77 000", as: .phone, key: key))
        #expect(CaseLookup.digest("+22177000", as: .phone, key: key) == one)
        #expect(CaseLookup.digest("22177000", as: .phone, key: key) != one)
        #expect(CaseLookup.digest("+22177000", as: .nationalID, key: key) != one)
        #expect(
            CaseLookup.digest("+22177000", as: .phone, key: CaseLookup.key(master: SymmetricKey(size: .bits256))) != one
        )
        #expect(one.count == 32)
    }
}
