export async function resolve(specifier, context, next) {
  if (specifier === 'kafkajs' || specifier.startsWith('kafkajs/')) {
    throw new Error(`kafkajs was loaded (${specifier}) by ${context.parentURL}`);
  }
  return next(specifier, context);
}
