/**
 * The group providers by `group.provider`: the composition root picks one here and has no
 * provider-specific branch. Each factory module is small; a provider's SDK is loaded by the provider
 * itself on first use (the AWS SDK only when `group.provider: asg`).
 */
import type { Config, ProviderName } from '../config/schema.ts';
import { asgProvider } from './asg/provider.ts';
import { elastigroupProvider } from './elastigroup/provider.ts';
import type { Provider, ProviderDeps, ProviderFactory, ProviderSettings } from './provider.ts';
import { staticProvider } from './static/provider.ts';

export const PROVIDERS: { readonly [N in ProviderName]: ProviderFactory<N> } = {
  elastigroup: elastigroupProvider,
  asg: asgProvider,
  static: staticProvider,
};

function factoryFor(config: Config): ProviderFactory {
  const factory = (PROVIDERS as Record<string, ProviderFactory | undefined>)[config.group.provider];
  // The schema admits only registered names; this guards a registry that forgot one.
  if (factory === undefined)
    throw new Error(`no provider is registered for group.provider '${config.group.provider}'`);
  return factory;
}

/** The settings of the configured provider (pure). */
export function providerSettings(config: Config): ProviderSettings {
  return factoryFor(config).settings(config.group as never);
}

/** Builds the configured provider; throws ConfigError when its credentials or settings are missing. */
export function createProvider(config: Config, deps: ProviderDeps): Provider {
  return factoryFor(config).create(config as never, deps);
}
