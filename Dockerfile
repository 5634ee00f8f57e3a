# One image for every Vallum service and for the demo IdP and app; the container's command picks which:
#   docker build -t vallum .
#   docker run --rm -v $PWD/vallum.yaml:/etc/vallum/vallum.yaml:ro -p 8000:8000 vallum --config /etc/vallum/vallum.yaml
# See docker-compose.yml for the split deployment.

FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY . .
# The lockfile pins everything, TypeScript 7's native compiler for this platform included.
RUN npm ci --no-audit --no-fund \
 && npx tsc -b tsconfig.build.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and not writable by the user the services run as.
COPY --from=build /src /app
USER node
EXPOSE 8000 8001 5080 5090
ENTRYPOINT ["node", "cmd/vallum/bin/vallum.js"]
CMD ["--help"]
