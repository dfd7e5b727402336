# The image the generated compose files name (mimicctl compose --image, default
# mimic-scheduler:latest):  docker build -t mimic-scheduler:latest .
# One image for all three binaries: mimic-listener, mimic-worker, and mimicctl (the workers'
# healthcheck pings their socket with it).

ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis-dev libyaml-dev pkg-config \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so source edits do not refetch them.
COPY Package.* ./
RUN swift package resolve
COPY Sources Sources
# Package.swift names the test targets; SwiftPM wants their directories even when not building them.
COPY Tests Tests
# Builds the three executables (tests are not built without --build-tests). The listener's page
# files (its resource bundle) must sit next to mimic-listener: it looks for them there.
RUN swift build -c release --static-swift-stdlib \
 && mkdir /out \
 && cp "$(swift build -c release --show-bin-path)"/mimic-listener \
       "$(swift build -c release --show-bin-path)"/mimic-worker \
       "$(swift build -c release --show-bin-path)"/mimicctl /out/ \
 && cp -R "$(swift build -c release --show-bin-path)"/mimic-scheduler_Listener.resources /out/

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libhiredis0.14 libyaml-0-2 ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10000 mimic \
 && useradd --system --uid 10000 --gid 10000 --home-dir /var/lib/mimic mimic \
 && mkdir -p /etc/mimic/apps.d /run/mimic /var/lib/mimic/journal \
 && chown -R mimic:mimic /run/mimic /var/lib/mimic \
 && chmod 1770 /run/mimic && chmod 0700 /var/lib/mimic/journal
COPY --from=build /out/ /usr/local/bin/
COPY compose-templates /usr/share/mimic/compose-templates
COPY kube-templates /usr/share/mimic/kube-templates
# Named volumes mounted on /run/mimic and /var/lib/mimic/journal start with this ownership and
# mode: the listener (uid 10000) and each worker (uid 10100 + its Redis db, `user:` in the
# generated compose files) share group 10000, the socket volume is group-writable with the sticky
# bit (no worker can remove another's socket), and nothing runs as root.
USER mimic
WORKDIR /var/lib/mimic
CMD ["mimic-listener", "--help"]
