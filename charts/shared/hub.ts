/**
 * The one-way rule of hubs: components contribute to a hub (scrape jobs, rule groups, datasources,
 * dashboards) until the hub first renders, and never after. A hub's files are rendered once and cached (see
 * `ConfigFiles`), so an addition after that point would show in no rendered file: it must fail loudly instead.
 */
export class HubSeal {
  private readonly hub: string;
  private renderedBy?: string;

  /** @param hub the hub's name in messages, e.g. `Prometheus` */
  public constructor(hub: string) {
    this.hub = hub;
  }

  /**
   * Throws if the hub has rendered. Every `add*` method of a hub calls it first.
   *
   * @param what what is being added and its key, e.g. `scrape job "loki"`
   */
  public assertOpen(what: string): void {
    if (this.renderedBy !== undefined) {
      throw new Error(
        `${this.hub} cannot take the ${what}: it already rendered ${this.renderedBy}, which would never contain it. Contribute to a hub before anything renders it (synth, toJson, fileText).`,
      );
    }
  }

  /**
   * Marks the hub as rendered: called by each producer of a file built from the contributions.
   *
   * @param file what is being rendered, for the message of a late addition, e.g. `prometheus.yml`
   */
  public seal(file: string): void {
    this.renderedBy ??= file;
  }
}
