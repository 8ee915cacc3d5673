import { BadRequestException, type PipeTransform } from '@nestjs/common';

export interface Order {
  id: string;
  customer: string;
  amount: number;
}

/** Checks a request body is an order; anything else is a 400 before any record is produced. */
export class OrderPipe implements PipeTransform<unknown, Order> {
  transform(body: unknown): Order {
    const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
    const problems: string[] = [];
    if (typeof b.id !== 'string' || b.id === '') problems.push('id must be a non-empty string');
    if (typeof b.customer !== 'string' || b.customer === '') problems.push('customer must be a non-empty string');
    if (typeof b.amount !== 'number' || !Number.isFinite(b.amount)) problems.push('amount must be a number');
    if (problems.length > 0) throw new BadRequestException(problems);
    return { id: b.id as string, customer: b.customer as string, amount: b.amount as number };
  }
}

/** Every record names the path that produced it, so the demo and the tests can tell them apart. */
export type ProducePath = 'injected-producer' | 'produce-route' | 'produce-service' | 'client-proxy';
