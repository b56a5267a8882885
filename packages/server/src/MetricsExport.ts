/**
 * The Effect metrics of this process (core's SyncMetrics and any other `Metric` in Effect's
 * registry) in Prometheus' text format, through OpenTelemetry: @effect/opentelemetry reads the
 * registry as a metric producer, and @opentelemetry/exporter-prometheus collects and serializes.
 * The exporter never opens its own port: the server answers /metrics on its own listener.
 *
 * OpenTelemetry is loaded only when this layer is built (by `serve`), so the CLI's other commands
 * never pay for it.
 */
import { Context, Effect, Layer } from "effect"

export class MetricsExport extends Context.Tag("@almanac/server/MetricsExport")<
  MetricsExport,
  {
    /** The current value of every metric, as Prometheus text exposition format 0.0.4. */
    readonly scrape: Effect.Effect<string>
  }
>() {}

/** The content type Prometheus expects for the text format. */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

export const layer = (options: { readonly serviceVersion: string }): Layer.Layer<MetricsExport> =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const [{ PrometheusExporter, PrometheusSerializer }, Metrics, Resource] = yield* Effect.promise(() =>
        Promise.all([
          import("@opentelemetry/exporter-prometheus"),
          import("@effect/opentelemetry/Metrics"),
          import("@effect/opentelemetry/Resource")
        ])
      )
      const exporter = new PrometheusExporter({ preventServerStart: true })
      // Scope labels would repeat the bridge's name on every series; the resource's
      // service.name and service.version stay, on `target_info`.
      const serializer = new PrometheusSerializer("", false, undefined, false, true)
      const registered = Metrics.layer(() => exporter).pipe(
        Layer.provide(Resource.layer({ serviceName: "almanac", serviceVersion: options.serviceVersion }))
      )
      return Layer.succeed(MetricsExport, {
        scrape: Effect.promise(() => exporter.collect()).pipe(
          Effect.tap(({ errors }) =>
            errors.length === 0 ? Effect.void : Effect.logWarning("metrics collection errors", errors)
          ),
          Effect.map(({ resourceMetrics }) => serializer.serialize(resourceMetrics))
        )
      }).pipe(Layer.merge(registered))
    })
  )
