import Foundation
import Testing

@testable import PaymentsCLI

/// Numbers and times on the command line past what the commands can use are refused as usage errors: a time from
/// now that overflowed 64 bits when added to the clock, and a batch size one past `Int.max`, crashed `payments
/// sweep`.
@Suite("Command-line bounds")
struct CommandBoundsTests {
    @Test(
        "--now: times outside 1970...9999, or from now past them, are not times",
        arguments: [
            "+106751991167300d", "+9223372036854775000s", "-9223372036854775000s", "9223372036854775807", "-1",
            "253402300800", "+3000000000000s", "10000-01-01", "+-5d", "-+5d", "+5.5d",
        ]
    )
    func timesOutOfBounds(_ text: String) {
        #expect(TimeArgument(argument: text) == nil)
    }

    @Test(
        "--now: a time that is not wholly one of the forms is refused, not read in part",
        arguments: [
            // Read as the day's midnight (16 hours early), and a signed number without a unit as unix seconds
            "2026-12-02T16:00", "2026-12-02 16:00:00", "2026-12-02xyz", "2026-12-02T16:00:00Zxyz", "+60", "+0",
            "2026-12-02T16", "2026-12-02T16:00:00+0200", " 2026-12-02T16:00:00Z x",
        ]
    )
    func timesNotWhole(_ text: String) {
        #expect(TimeArgument(argument: text) == nil)
    }

    @Test(
        "--now: a date or time with a field out of its range is refused, not read as another time",
        arguments: [
            // Read as the day's midnight, and impossible dates as days of the next month
            "2026-12-02T25:00:00", "2026-12-02T12:60:00", "2026-12-02T99:99:99Z", "2026-12-02T25:00:00+02:00",
            "2026-12-02T23:59:60Z", "2026-02-30", "2026-02-29", "2026-13-01", "2026-00-10", "2026-12-00",
            "2026-12-02T12:00:00+24:00", "2026-12-02T12:00:00+02:60",
        ]
    )
    func timesOutOfRange(_ text: String) {
        #expect(TimeArgument(argument: text) == nil)
    }

    @Test("--now: leap days, the ends of months and offsets on both sides read as their times")
    func calendarEdges() {
        let forms: [(String, Int64)] = [
            ("2028-02-29", 1_835_395_200), ("2000-02-29T00:00:00Z", 951_782_400),
            ("2026-12-31T23:59:59Z", 1_798_761_599),
            ("1970-01-01", 0), ("2026-12-02T11:30:00-04:30", 1_796_227_200),
            ("2026-01-01T00:00:00+14:00", 1_767_175_200),
        ]
        for (text, seconds) in forms { #expect(TimeArgument(argument: text)?.seconds(now: 5) == seconds, "\(text)") }
    }

    @Test("--now: every form README names reads as its time")
    func timeForms() {
        let forms: [(String, Int64)] = [
            ("1796227200", 1_796_227_200), ("2026-12-02", 1_796_169_600), ("2026-12-02T16:00:00Z", 1_796_227_200),
            ("2026-12-02T16:00:00", 1_796_227_200), ("2026-12-02T16:00:00.250Z", 1_796_227_200),
            ("2026-12-02T18:00:00+02:00", 1_796_227_200), (" 2026-12-02T16:00:00Z ", 1_796_227_200),
        ]
        for (text, seconds) in forms { #expect(TimeArgument(argument: text)?.seconds(now: 5) == seconds, "\(text)") }
    }

    @Test("--now: the bounds themselves and ordinary times are times")
    func timesInBounds() {
        #expect(TimeArgument(argument: "0")?.seconds(now: 5) == 0)
        #expect(TimeArgument(argument: "253402300799")?.seconds(now: 5) == 253_402_300_799)
        #expect(TimeArgument(argument: "9999-12-31T23:59:59Z")?.seconds(now: 5) == 253_402_300_799)
        #expect(TimeArgument(argument: "+7d")?.seconds(now: 1_000) == 605_800)
        #expect(TimeArgument(argument: "-1h")?.seconds(now: 10_000) == 6_400)
    }

    @Test("sweep --now takes a time before now written with its dash, as --now -1h, not as an option")
    func nowBeforeNow() throws {
        let command = try SweepCommand.parse(["--now", "-1h"])
        #expect(command.now?.seconds(now: 10_000) == 6_400)
        #expect(try SweepCommand.parse(["--now=-2d"]).now?.seconds(now: 200_000) == 27_200)
    }

    @Test("sweep refuses a time from now that falls before 1970 or past 9999, and batch sizes outside 1...1,000,000")
    func sweepRefuses() {
        for arguments in [
            ["--now", "-100000d"], ["--now", "+3000000d"], ["--batch-size", "9223372036854775807"],
            ["--batch-size", "1000001"], ["--batch-size", "0"],
        ] {
            #expect(throws: (any Error).self, "\(arguments)") { try SweepCommand.parse(arguments) }
        }
        #expect(throws: Never.self) { try SweepCommand.parse(["--now", "+7d", "--batch-size", "1000000"]) }
    }

    @Test("vault rotate refuses batch sizes outside 1...1,000,000 (it read 0 as 1 and took any size)")
    func vaultRotateRefuses() {
        for size in ["0", "-1", "1000001", "9223372036854775807"] {
            #expect(throws: (any Error).self, "\(size)") { try VaultRotateCommand.parse(["--batch-size", size]) }
        }
        #expect(throws: Never.self) { try VaultRotateCommand.parse(["--batch-size", "500"]) }
    }

    @Test("recharge refuses a concurrency outside 1...1,000 (it read 0 as 1)")
    func rechargeConcurrencyRefused() {
        for count in ["0", "-1", "1001", "9223372036854775807"] {
            #expect(throws: (any Error).self, "\(count)") {
                try RechargeCommand.parse(["--input", "in.csv", "--concurrency", count])
            }
        }
        #expect(throws: Never.self) { try RechargeCommand.parse(["--input", "in.csv", "--concurrency", "1000"]) }
    }
}
