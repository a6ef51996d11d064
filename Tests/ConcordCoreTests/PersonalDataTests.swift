import ConcordCore
import ConcordTestSupport
import Crypto
import Foundation
import Testing

@Suite struct PersonalDataTests {
    let key = SymmetricKey(size: .bits256)
    let details: JSONValue = ["name": "Amina Diallo", "phone": "+221 77 000 00 00"]

    @Test func sealedDetailsOpenOnlyWithTheirKeyAndSubject() throws {
        let sealed = try PersonalData.seal(self.details, subject: "C-1", key: self.key)
        guard case .sealed(let subject, let bytes) = PersonalData.form(of: sealed) else {
            Issue.record("not a sealed form: \(sealed)")
            return
        }
        #expect(subject == "C-1")
        #expect(!String(decoding: CanonicalJSON.encode(sealed), as: UTF8.self).contains("Amina"))
        var opened = self.details
        if case .object(var members) = opened {
            members["subject"] = "C-1"
            opened = .object(members)
        }
        #expect(try PersonalData.open(bytes, subject: "C-1", key: self.key) == opened)
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.open(bytes, subject: "C-1", key: SymmetricKey(size: .bits256))
        }
        // Sealed bytes moved to another subject do not open: the subject is authenticated.
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.open(bytes, subject: "C-2", key: self.key)
        }
        var flipped = bytes
        flipped[flipped.count / 2] ^= 1
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.open(flipped, subject: "C-1", key: self.key)
        }
    }

    @Test func dataKeysUnwrapOnlyWithTheMasterKeyForTheirSubject() throws {
        let master = SymmetricKey(size: .bits256)
        let wrapped = try PersonalData.wrap(self.key, subject: "C-1", master: master)
        let unwrapped = try PersonalData.unwrap(wrapped, subject: "C-1", master: master)
        #expect(unwrapped == self.key)
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.unwrap(wrapped, subject: "C-2", master: master)
        }
        #expect(throws: PersonalData.SealError.cannotOpen) {
            try PersonalData.unwrap(wrapped, subject: "C-1", master: SymmetricKey(size: .bits256))
        }
    }

    @Test func masterKeysAreHexOrBase64OfThirtyTwoBytes() {
        #expect(PersonalData.masterKey(text: String(repeating: "ab", count: 32) + "\n") != nil)
        #expect(PersonalData.masterKey(text: Data(repeating: 1, count: 32).base64EncodedString()) != nil)
        #expect(PersonalData.masterKey(text: String(repeating: "ab", count: 16)) == nil)
        #expect(PersonalData.masterKey(text: "secret") == nil)
    }

    /// Readers without a key (projections, verification) decode the sealed and erased forms and re-encode them to
    /// the same bytes; a malformed form is a payload error naming the field.
    @Test func withheldDetailsDecodeAndReencodeUnchanged() throws {
        let lodged = Complaint.Event.lodged(Fixture.complaint())
        for withheld in [
            try PersonalData.seal(self.details, subject: "C-1", key: self.key), PersonalData.erased(subject: "C-1"),
        ] {
            var payload = try #require(lodged.payload.objectMembers)
            payload["complainant"] = withheld
            let decoded = try Complaint.Event.decode(
                type: "ComplaintLodged", schemaVersion: 1, payload: .object(payload))
            #expect(decoded.payload == .object(payload))
            guard case .lodged(let lodgement) = decoded else {
                Issue.record("decoded as \(decoded), not a lodgement")
                continue
            }
            #expect(lodgement.complainant == .identified(.withheld(withheld)))
            // An appeal opened from such a complaint carries the withheld form as is.
            var appeal = Fixture.appeal()
            appeal.appellant = lodgement.complainant
            appeal.contactPreference = .sms
            #expect(Appeal.rejection(.lodge(appeal), in: nil) == nil)
        }
        var payload = try #require(Referral.Event.created(Fixture.referral()).payload.objectMembers)
        payload["person"] = ["subject": "R-1", "sealed": "not base64!"]
        #expect {
            try Referral.Event.decode(type: "ReferralCreated", schemaVersion: 1, payload: .object(payload))
        } throws: { error in
            (error as? EventPayloadError)?.field == "person"
        }
    }

    @Test func aLegalHoldBlocksErasureUntilReleasedAndErasureIsFinal() throws {
        let held = try DataSubject.run([.setLegalHold(reason: "Court case 12/2026", at: Fixture.time(0))]).state
        let refused = try #require(
            DataSubject.rejection(.erase(reason: "Request 7", legalBasis: "DPA s.16", at: Fixture.time(1)), in: held))
        #expect(refused.reason.contains("legal hold (Court case 12/2026)"))
        #expect(refused.allowedCommands == ["release_legal_hold"])
        let erased = try DataSubject.run(
            [
                .releaseLegalHold(reason: "Case closed", at: Fixture.time(2)),
                .erase(reason: "Request 7", legalBasis: "DPA s.16", at: Fixture.time(3)),
            ], from: held
        ).state
        #expect(erased?.status == .erased && erased?.erasedAt == Fixture.time(3))
        #expect(DataSubject.allowedCommands(in: erased).isEmpty)
        #expect(
            DataSubject.rejection(.erase(reason: " ", legalBasis: "DPA", at: Fixture.time(0)), in: nil)?.field
                == "reason")
        for event in try DataSubject.run([.setLegalHold(reason: "x", at: Fixture.time(0))]).events {
            #expect(try event.roundTripped() == event)
        }
    }
}
