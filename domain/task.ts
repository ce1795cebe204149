/**
 * What a model predicts, declared per model (`models[].task`): Vigil reads predictions, labels and
 * performance by it, never by looking inside the model.
 *
 *   binary      a score in [0, 1]; predicted positive when score ≥ `threshold`; labels name the
 *               `positiveClass` or the other one (0/1 by default)
 *   multiclass  a predicted label from `classes`, optionally the probability of each class
 *   regression  a number
 */
import { z } from 'zod';

const ClassLabel = z.union([z.string().min(1), z.number()]);

export const BinaryTask = z.strictObject({
  type: z.literal('binary'),
  /** predicted = score ≥ threshold. */
  threshold: z.number().gt(0).lt(1).default(0.5),
  /** The label value that means "positive" (the event the score estimates). */
  positiveClass: ClassLabel.default(1),
  /** The other label value. */
  negativeClass: ClassLabel.default(0),
});

export const MulticlassTask = z
  .strictObject({
    type: z.literal('multiclass'),
    /** Every class the model may predict, in a stable order. */
    classes: z.array(ClassLabel).min(2, 'a multiclass model needs at least two classes'),
  })
  .refine((t) => new Set(t.classes.map(String)).size === t.classes.length, { message: 'classes must be distinct', path: ['classes'] });

export const RegressionTask = z.strictObject({
  type: z.literal('regression'),
});

export const TaskConfig = z.discriminatedUnion('type', [BinaryTask, MulticlassTask, RegressionTask]);
export type TaskConfig = z.output<typeof TaskConfig>;
export type TaskType = TaskConfig['type'];
export const TASK_TYPES = ['binary', 'multiclass', 'regression'] as const satisfies readonly TaskType[];

/**
 * A logged row's label as the task states it: binary rows store 1/0, read back as the positive or
 * negative class; multiclass and regression rows keep the class or value. Undefined while unlabelled.
 */
export function taskLabel(task: TaskConfig, row: { label: 0 | 1 | null; labelValue?: string | number }): string | number | undefined {
  if (task.type === 'binary') return row.label === 1 ? task.positiveClass : row.label === 0 ? task.negativeClass : undefined;
  return row.labelValue;
}
