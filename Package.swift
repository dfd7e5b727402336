// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "mimic-scheduler",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mimic-worker", targets: ["AppWorker"]),
        .executable(name: "mimic-listener", targets: ["Listener"]),
        .executable(name: "mimicctl", targets: ["Ctl"]),
        .executable(name: "mimic-bench", targets: ["Bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // TLS to the site's syslog collector (log_export); already built for async-http-client.
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // The worker's metrics: swift-metrics types, exposed in the Prometheus text format (issue 18).
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // SHA-256 of presented tokens for `token_sha256` entries; 4.x keeps the same Crypto API.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .systemLibrary(
            name: "CYaml",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(
            name: "Shared",
            dependencies: [
                "CHiredis",
                "CYaml",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // BlockingHTTPClient: mimicctl's requests, the bench's and the tests' status probes.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // A private CA for https:// doors (BlockingHTTPClient.caFile).
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The worker's scheduling core: `ExecutorPool` and its rules, a pure state machine in a
        // module of its own so that the compiler, not a comment, keeps the pool's state written
        // only by its rules (the worker reads it through `package` accessors).
        .target(
            name: "Scheduling",
            dependencies: ["Shared"]
        ),
        .executableTarget(
            name: "AppWorker",
            dependencies: [
                "Shared",
                "Scheduling",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // SHA-256 of every file a forensics capture keeps (its manifest).
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "Listener",
            dependencies: [
                "Shared",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                // TLS on the ingress and admin doors (listener.yaml `tls:`).
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                // HTTPRequestPart, for the request-deadline handler in Hummingbird's HTTP/1 pipeline.
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                // The listener's own series and journal durations, merged into the fleet's /metrics.
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The situational-awareness page (GET /): static files served by Hummingbird's FileMiddleware.
            resources: [.copy("Page")]
        ),
        .executableTarget(
            name: "Ctl",
            dependencies: [
                "Shared",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        .executableTarget(
            name: "Bench",
            dependencies: [
                "Shared",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: ["Shared", .product(name: "NIOPosix", package: "swift-nio")],
            path: "Tests/Support"
        ),
        .testTarget(name: "SharedTests", dependencies: ["Shared", "TestSupport"]),
        .testTarget(
            name: "AppWorkerTests",
            dependencies: [
                "AppWorker", "Scheduling", "Shared", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(name: "ListenerTests", dependencies: ["Listener", "Shared", "TestSupport"]),
        .testTarget(name: "CtlTests", dependencies: ["Ctl", "Shared", "TestSupport"]),
        .testTarget(name: "BenchTests", dependencies: ["Bench", "TestSupport"]),
    ]
)
