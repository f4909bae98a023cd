/** The motion models steady registers with, from fewest to most parameters. */
export const MODEL_NAMES = ['translation', 'euclidean', 'similarity', 'affine', 'homography'] as const;

/** A motion model's name. */
export type ModelName = (typeof MODEL_NAMES)[number];
