# Multi-stage build: compile with the Rust toolchain, ship only the binary on a slim Debian base.
FROM rust:1.95-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin postgram

FROM debian:bookworm-slim
# CA certificates, for TLS to the Bot API, SMTP servers and PostgreSQL; psql and pg_dump for the shell
# steps of the shipped actions (use a client at least as new as the servers it dumps); procps for kill,
# with which the service stops a cancelled shell step's whole process group.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates postgresql-client procps \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/postgram postgram \
 && mkdir -p /var/lib/postgram /etc/postgram \
 && chown postgram /var/lib/postgram
COPY --from=build /src/target/release/postgram /usr/local/bin/postgram
COPY views.yaml actions.yaml charts.yaml /etc/postgram/
USER postgram
WORKDIR /var/lib/postgram
# A config without `state` keeps its SQLite file in the volume (next to the config, /etc/postgram, the
# postgram user could not write). POSTGRAM_LISTEN is the listen address of the sample config and of
# `postgram init`'s; a config that names another port needs the HEALTHCHECK's --url changed to match.
ENV POSTGRAM_STATE=sqlite:///var/lib/postgram/postgram.db \
    POSTGRAM_LISTEN=0.0.0.0:9750
VOLUME /var/lib/postgram
EXPOSE 9750
# The runtime image has no curl: the binary asks its own liveness endpoint.
HEALTHCHECK --interval=30s --timeout=10s --start-period=10s --retries=3 \
    CMD ["postgram", "health", "--url", "http://127.0.0.1:9750/-/healthy"]
ENTRYPOINT ["postgram"]
CMD ["run", "--config", "/etc/postgram/postgram.yaml"]
