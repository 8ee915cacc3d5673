// The part of @nestjs/config's API (4.x, the Nest 11 line) that README.md's "Connecting to a secured
// cluster" section uses. The package is not a dependency of this workspace, so secure-usage.ts
// imports this module and the README shows `@nestjs/config` instead (see
// test/nest-security-readme.e2e-spec.ts). Signatures follow the package's own .d.ts.
import { Injectable, Module, type DynamicModule } from '@nestjs/common';

type ConfigFactory = () => Record<string, unknown>;

@Injectable()
export class ConfigService {
  constructor(private readonly internal: Record<string, unknown> = {}) {}

  get<T = unknown>(path: string): T | undefined {
    return path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], this.internal) as T | undefined;
  }

  getOrThrow<T = unknown>(path: string): T {
    const value = this.get<T>(path);
    if (value === undefined) throw new TypeError(`Configuration key "${path}" does not exist`);
    return value;
  }
}

@Module({})
export class ConfigModule {
  static forRoot(options: { load?: ConfigFactory[]; isGlobal?: boolean } = {}): DynamicModule {
    const values = Object.assign({}, ...(options.load ?? []).map((load) => load()));
    return { module: ConfigModule, global: options.isGlobal, providers: [{ provide: ConfigService, useValue: new ConfigService(values) }], exports: [ConfigService] };
  }
}
