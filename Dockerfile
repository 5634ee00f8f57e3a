# One image for every Vallum service and for the demo IdP and app; the container's command picks which:
#   docker build -t vallum .
#   docker run --rm -v $PWD/vallum.yaml:/etc/vallum/vallum.yaml:ro -p 8000:8000 vallum --config /etc/vallum/vallum.yaml
# See docker-compose.yml for the split deployment, and README.md "The container image" for the probes.
#
# The runtime stage holds what scripts/install-runtime.mjs lays out and nothing else: the shipped workspaces'
# package.json, dist/ (JavaScript only) and bin/, and their production dependencies. test/src/image.test.ts runs
# that same script and starts `vallum` from its output, and checks this file's stages (no Docker engine needed).

# Node 24 is the Active LTS line; development and the tests also run on Node 20 (engines: >=20.10).
FROM node:24-bookworm-slim AS build
# tini is PID 1 in the runtime stage: it forwards SIGTERM/SIGINT/SIGHUP to vallum and reaps zombies. Same Debian
# release in both stages, so the binary runs there as it is.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The lockfile pins everything, TypeScript 7's native compiler for this platform included. The runtime install is
# served from the npm cache the first `npm ci` filled.
RUN npm ci --no-audit --no-fund \
 && npx tsc -b tsconfig.build.json \
 && node scripts/install-runtime.mjs /runtime

FROM node:24-bookworm-slim
ENV NODE_ENV=production
# What HEALTHCHECK asks: the proxy's liveness page, which answers on any Host in all-in-one and proxy mode. Set it
# for a service on its own (e.g. http://127.0.0.1:5090/healthz for the cache) or when `address` is not port 8000.
ENV VALLUM_HEALTHCHECK_URL=http://127.0.0.1:8000/.vallum/healthz
# glibc's allocator, read at process start: keep freed memory instead of handing it back to the kernel and faulting
# it in again on the next large response (bench/README.md "The 100 KiB path (issue 14)"). Costs 20-35 MB of RSS
# under load; set MALLOC_TRIM_THRESHOLD_=131072 MALLOC_TOP_PAD_=131072 MALLOC_MMAP_THRESHOLD_=131072 for glibc's own.
ENV MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_TOP_PAD_=16777216 MALLOC_MMAP_THRESHOLD_=4194304
COPY --from=build /usr/bin/tini /usr/bin/tini
WORKDIR /app
# Owned by root and not writable by the user the services run as.
COPY --from=build /runtime /app
# The official image's `node` user, by number so Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8000 8001 5080 5090
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.VALLUM_HEALTHCHECK_URL, { signal: AbortSignal.timeout(2500) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# --max-semi-space-size=8: V8's young generation capped as the `vallum` launcher caps it (bench/README.md, "Where the
# 100 KiB time goes"); V8 reads it only at start.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--max-semi-space-size=8", "cmd/vallum/bin/vallum.js"]
CMD ["--help"]
