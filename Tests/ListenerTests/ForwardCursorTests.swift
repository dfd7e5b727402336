import Testing

@testable import Listener

@Suite struct ForwardCursorTests {
    @Test func cursorReplaysFromAckAndRespectsWindow() {
        var cursor = ForwardCursor(acked: 10, window: 5)
        #expect(cursor.nextToSend == 11 && cursor.room == 5)
        cursor.sent(through: 15)
        #expect(cursor.room == 0)
        #expect(cursor.acknowledged(12) == 12)
        #expect(cursor.acknowledged(11) == nil)
        #expect(cursor.room == 2)
        cursor.connected(acked: 12)
        #expect(cursor.nextToSend == 13)
        #expect(cursor.acknowledged(20) == 20)
        #expect(cursor.nextToSend == 21)
    }
}
