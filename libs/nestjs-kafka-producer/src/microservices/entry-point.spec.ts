describe('entry points', () => {
  // @nestjs/microservices is an optional peer: an app without it must be able to load the main entry
  const withoutMicroservices = (load: () => unknown): unknown => {
    let result: unknown;
    jest.isolateModules(() => {
      jest.doMock('@nestjs/microservices', () => {
        throw new Error('@nestjs/microservices was loaded');
      });
      result = load();
    });
    jest.dontMock('@nestjs/microservices');
    return result;
  };

  it('the main entry point never loads @nestjs/microservices', () => {
    expect(() => withoutMicroservices(() => jest.requireActual('../index'))).not.toThrow();
  });

  it('the microservices entry point is the one that does', () => {
    expect(() => withoutMicroservices(() => jest.requireActual('./index'))).toThrow('@nestjs/microservices was loaded');
  });
});
