import Testing
import TestSupport

/// The machine's conditions as test traits: a test that needs one is skipped with its reason.
extension Trait where Self == ConditionTrait {
    static var needsFixtures: Self { .enabled(if: TestMachine.fixtures != nil, Comment(rawValue: TestMachine.noFixtures)) }
    static var needsODirect: Self { .enabled(if: TestMachine.oDirectInBuild, Comment(rawValue: TestMachine.noODirect)) }
    static var needsLspci: Self { .enabled(if: TestMachine.lspci != nil, Comment(rawValue: TestMachine.noLspci)) }
}
