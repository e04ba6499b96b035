// nsthread.ts imports the C source as text (`with { type: "text" }`).
declare const source: string;
export default source;
