# Bantay: Node 22 LTS with the PostgreSQL client tools (pg_dump/pg_restore).
# pg_dump must be the same major version as the FBMS server or newer: PG_MAJOR selects it
# from the PostgreSQL project's Debian repository (apt.postgresql.org).

# Stage 1 compiles the TypeScript sources to plain JavaScript (dist/), so the image runs no
# compiler at start-up and carries neither TypeScript nor tsx.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.js ./scripts/build.js
COPY bin ./bin
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim

ARG PG_MAJOR=16
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl gnupg; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}" tini zstd; \
    apt-get purge -y curl gnupg; apt-get autoremove -y; \
    rm -rf /var/lib/apt/lists/*

ENV NODE_ENV=production \
    BANTAY_PG_BIN=/usr/lib/postgresql/${PG_MAJOR}/bin \
    BANTAY_DATA_DIR=/var/lib/bantay \
    BANTAY_LOG_FORMAT=json

WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build, and the build's tools are development dependencies;
# the built JavaScript comes from the first stage instead. No runtime dependency has an
# install script.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
# dist/ without src/: bin/bantay.js runs dist/ as it is (there are no sources to be newer).
COPY --from=build /app/dist ./dist
COPY docs ./docs
COPY recovery ./recovery
COPY README.md ./

# Non-root: Bantay needs no privileges; its state lives in a volume it owns.
RUN useradd --system --uid 10001 --home-dir /var/lib/bantay --create-home bantay
USER bantay
VOLUME ["/var/lib/bantay"]
EXPOSE 3000

ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/bantay.js"]
CMD ["serve"]
