/// Config texts shared by the loader tests. Line numbers matter: tests point at them.
enum ConfigFixtures {
    static let appFile = "/etc/mimic/apps.d/shop.yaml"

    static let fullApp = """
        app: shop
        redis: { host: 10.0.0.5, port: 6380, db: 1, password: secret }
        replicas: { online: 3, standby: 2, min_online: 2, retain_dirty: 1 }
        variants:
          - { name: nginx-php, traits: { os: debian, web: nginx }, image: reg/shop:nginx-php, ports: [80] }
          - { name: apache-java, traits: { os: centos, web: apache }, image: reg/shop:apache-java, ports: [8080] }
        hosts:
          - name: node1
            address: 10.0.0.11
            driver: docker
            docker: tcp://10.0.0.11:2375
            probe: { http: "http://10.0.0.11:2375/_ping", interval: 1s, fall: 3, rise: 2 }
          - name: local1
            address: 127.0.0.1
            driver: command
            command:
              timeout: 45s
              create: ["./hooks/create.sh", "{app}", "{executor}", "{variant}", "{host}"]
              clean:  ["./hooks/clean.sh", "{app}", "{executor}", "{variant}", "{host}"]
              remove: ["./hooks/remove.sh", "{app}", "{executor}", "{host}"]
              list:   ["docker", "ps", "--filter", "label=mimic.app={app}"]
            probe: { tcp: "127.0.0.1:9101", interval: 200ms, fall: 4, rise: 1 }
        scheduling:
          strategy: round_robin
          rotate_every: 0
          abnormal: { dissents: 5, window: 2m }
          seed: 42
        brackets:
          webhook: http://127.0.0.1:9000/online
        lists: { blacklist: ["/admin/*"], whitelist: [] }
        run_dir: ../run
        max_parallel_actions: 2
        reconcile_every: 1m
        forensics: { dir: ../evidence, export: true, timeout: 90s }
        log_export: { syslog: "tls://logs.example.net:6514", facility: local3, hostname: shop-worker-1, tls: { ca_file: ../pki/ca.pem, server_name: logs.example.net } }
        """

    /// The smallest valid app: everything else takes its default.
    static let minimalApp = """
        app: blog
        redis: { db: 2 }
        replicas: { online: 1, standby: 0, min_online: 1 }
        variants:
          - { name: v1 }
        hosts:
          - { name: h1, address: 127.0.0.1, driver: command, command: { create: [c], clean: [c], remove: [r], list: [l] } }
        """

    static let listenerFile = "/srv/mimic/listener.yaml"

    static let fullListener = """
        http: { host: 0.0.0.0, port: 8600 }
        tcp: { port: 8601 }
        apps_dir: apps.d
        run_dir: /var/run/mimic
        journal_dir: ./journal
        fsync: always
        max_message_bytes: 2048
        max_backlog_bytes: 4096
        tokens:
          - { name: waf-1, token: "waf-token-0123456789", sources: [waf], apps: ["*"] }
          - { name: ops, token: "ops-token-0123456789", sources: ["*"], apps: [shop, blog] }
        supervise: { enabled: true, worker: ./bin/mimic-worker }
        journal_retain: 30m
        journal_retain_bytes: 2097152
        trend_interval: 2s
        """
}
